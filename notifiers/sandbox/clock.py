"""The one place the sandbox reads the time, so tests move it (time-machine) instead of
sleeping: timed fault windows and the recorder's timestamps ask ``now()``."""

from __future__ import annotations

import time
from datetime import UTC, datetime


def now() -> float:
    """Seconds since the epoch."""
    return time.time()


def isoformat(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat()
