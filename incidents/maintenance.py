"""Scheduled maintenance: whether a component is in a window, and the window's own clock.

A maintenance is an Incident of kind MAINTENANCE (as Statuspage has it): scheduled ->
in_progress -> verifying -> completed. It is announced ahead at `announce_before_minutes`,
starts and completes by itself at its times, and while it runs its components show
under_maintenance and their probes open no incidents.
"""

from __future__ import annotations

from datetime import datetime

from django.db.models import Q

from incidents.models import ACTIVE_MAINTENANCE_STATUSES, Incident, IncidentStatus
from statuspage.models import Component


def is_under_maintenance(component: Component, now: datetime) -> bool:
    """True while a maintenance covering the component runs, or its window is open.

    The window counts even before the clock's next tick starts it, so a probe failing in
    the first seconds of planned work opens no incident.
    """
    in_window = Q(
        status=IncidentStatus.SCHEDULED,
        auto_transition=True,
        scheduled_for__lte=now,
        scheduled_until__gt=now,
    )
    return (
        Incident.objects.maintenance()
        .filter(components=component)
        .filter(Q(status__in=ACTIVE_MAINTENANCE_STATUSES) | in_window)
        .exists()
    )
