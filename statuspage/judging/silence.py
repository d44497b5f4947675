"""Silence: a probe nobody checked for two of its intervals, and regions that stopped reporting.

A probe's results come from the engine or from agents in its regions. When all of them are
gone (or a claim was lost) nothing fails: the probe simply keeps its last, possibly green,
state. Silence makes that visible: measured from the probe's last result (or its creation if
it was never checked), two missed intervals make it silent, and the public says "status
unknown" for its component. A heartbeat is exempt: it is pushed to us, and its own deadline
already turns the monitored system's silence into a failure.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from statuspage.checks import kind_for

MISSED_INTERVALS = 2


class Silence:
    """Probe's silence: whether it (or one of its regions) is overdue for a result."""

    if TYPE_CHECKING:
        kind: str
        enabled: bool
        interval_seconds: int
        created_at: datetime
        last_checked_at: datetime | None

    @property
    def silence_allowed(self) -> timedelta:
        """How long without a result is still normal: two of the probe's intervals."""
        return MISSED_INTERVALS * timedelta(seconds=self.interval_seconds)

    @property
    def watched_for_silence(self) -> bool:
        return self.enabled and not kind_for(self.kind).pushed

    def silence_start(self, now: datetime) -> datetime | None:
        """The last moment the probe is known to have been checked (or created), if it has
        been silent for longer than two intervals since; else None."""
        reference = self.last_checked_at or self.created_at
        if not self.watched_for_silence or now - reference <= self.silence_allowed:
            return None
        return reference

    def region_is_live(self, last_report: datetime | None, now: datetime) -> bool:
        """A region counts while it reported within two intervals; a region that never
        reported has two intervals from the probe's creation to start."""
        return now - (last_report or self.created_at) <= self.silence_allowed
