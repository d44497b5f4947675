"""The one place the system asks what time it is, so tests can move time.

`manage.py demo replay` runs the demo's story faster than real time: it sets
`settings.DEMO_CLOCK_SPEED` and anchors the sped-up clock (`DEMO_CLOCK_ANCHOR`: a real moment
and the virtual moment it stands for). Outside the demo the speed is 1 and this is Django's
clock.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.utils import timezone


def now() -> datetime:
    real = timezone.now()
    speed = settings.DEMO_CLOCK_SPEED
    anchor = settings.DEMO_CLOCK_ANCHOR
    if speed == 1 or anchor is None:
        return real
    real_start, virtual_start = anchor
    return virtual_start + (real - real_start) * speed
