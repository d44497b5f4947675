"""Flapping: a probe whose confirmed state keeps changing holds the public picture still."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING


class Flapping:
    """Probe's `transitions` (recent confirmed changes) and `flapping_since`."""

    if TYPE_CHECKING:
        flap_threshold: int
        flap_window_seconds: int
        transitions: list[str]
        flapping_since: datetime | None

    def recent_transitions(self, now: datetime) -> list[str]:
        window = timedelta(seconds=self.flap_window_seconds)
        return [t for t in self.transitions if now - datetime.fromisoformat(t) <= window]

    def note_transition(self, now: datetime) -> None:
        self.transitions = [*self.recent_transitions(now), now.isoformat()][
            -(self.flap_threshold + 1) :
        ]

    def update_flapping(self, now: datetime) -> bool:
        """Flapping: more than K confirmed changes within the window. It ends only after a
        whole window without a change, so a probe does not flap in and out of flapping."""
        if not self.flap_threshold:
            return False
        recent = self.recent_transitions(now)
        if self.flapping_since is None and len(recent) > self.flap_threshold:
            self.flapping_since = now
        elif self.flapping_since is not None and not recent:
            self.flapping_since = None
        return self.flapping_since is not None
