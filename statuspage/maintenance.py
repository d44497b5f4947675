"""Scheduled maintenance as the public side sees it.

Maintenance windows belong to the incidents app. Until it has them, every list is empty;
when it does, `maintenance_payloads` is the one function to fill in: it must return
Statuspage "scheduled maintenance" objects (incident fields plus scheduled_for and
scheduled_until, status scheduled|in_progress|verifying|completed).
"""

from __future__ import annotations

from typing import Literal

Which = Literal["all", "upcoming", "active"]


def maintenance_payloads(which: Which) -> list[dict]:
    """All (50 most recent), upcoming (scheduled) or active (in progress, verifying)."""
    return []
