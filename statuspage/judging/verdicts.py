"""The verdict state machine: results counted into a confirmed state (N failures confirm
DOWN, M successes UP), and the one verdict that brings the public picture in line with it.

`state` is the confirmed state; `reported` is what the incident workflow was last told. They
part while the probe flaps or its component is in maintenance (`suppressed`), and meet again
afterwards with one catch-up verdict.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from django.db import models
from django.utils.translation import gettext_lazy as _

from statuspage.checks import kind_for
from statuspage.checks.outcome import CheckOutcome
from statuspage.judging.evidence import Evidence
from statuspage.judging.flapping import Flapping
from statuspage.statuses import ComponentStatus


class ProbeState(models.TextChoices):
    UNKNOWN = "unknown", _("Unknown")
    UP = "up", _("Up")
    DOWN = "down", _("Down")


class Verdict(models.TextChoices):
    """What a run changed about a probe's confirmed state."""

    NONE = "", _("No change")
    CONFIRMED_DOWN = "confirmed_down", _("Outage confirmed")
    CONFIRMED_UP = "confirmed_up", _("Recovery confirmed")


class Confirmation(Flapping, Evidence):
    """Probe's counting and reporting; failures feed the evidence, changes the flapping."""

    if TYPE_CHECKING:
        kind: str
        state: str
        reported: str
        failure_status: str
        outage_status: str
        consecutive_failures: int
        consecutive_successes: int
        failures_to_confirm: int
        successes_to_confirm: int
        first_failure_at: datetime | None
        last_checked_at: datetime | None
        last_warning: str
        regions: list[str]
        quorum: int

        def live_regions(self, now: datetime) -> list[str]: ...

    def needed(self, count: int) -> int:
        """The confirmations the probe's kind asks for: `count`, or one if it confirms at once."""
        return 1 if kind_for(self.kind).confirms_at_once else count

    @property
    def confirmed_outage_status(self) -> str:
        """The component status of the confirmed failure: degraded or the probe's outage."""
        return self.failure_status or self.outage_status

    @property
    def quorum_needed(self) -> int:
        return self.quorum_of(len(self.regions))

    def quorum_of(self, live: int) -> int:
        """The confirming regions an outage needs when `live` regions report: the probe's
        quorum (a majority if 0), never more than the regions there are to ask."""
        return min(self.quorum or live // 2 + 1, max(live, 1))

    def apply_outcome(
        self, outcome: CheckOutcome, now: datetime, suppressed: bool = False
    ) -> Verdict:
        """Count the result, then decide what the public should be told, if anything."""
        self.note_check(outcome, now)
        if self.count(outcome, now):
            self.note_transition(now)
        return self.verdict(now, suppressed)

    def apply_region_votes(
        self, outcome: CheckOutcome, now: datetime, down: list[str], suppressed: bool = False
    ) -> Verdict:
        """For probes checked from several regions: an outage needs `quorum` regions to
        confirm it (each by its own N failures), so one region's broken network is not an
        outage; it is shown to staff instead (RegionState). Only live regions vote and count
        toward the quorum: a region whose agent stopped reporting neither holds an outage
        open with its last vote nor keeps one from being confirmed by its absence."""
        self.note_check(outcome, now)
        self.count_streak(outcome, now)
        live = self.live_regions(now)
        if self.count_votes(outcome, now, [r for r in down if r in live], len(live)):
            self.note_transition(now)
        return self.verdict(now, suppressed)

    def note_check(self, outcome: CheckOutcome, now: datetime) -> None:
        self.last_checked_at = now
        self.last_warning = outcome.warning[:500]

    def verdict(self, now: datetime, suppressed: bool) -> Verdict:
        if self.update_flapping(now) or suppressed:
            return Verdict.NONE
        return self.report()

    def count_streak(self, outcome: CheckOutcome, now: datetime) -> None:
        """Extend the run of successes or failures this result belongs to."""
        if outcome.ok:
            self.consecutive_failures = 0
            self.consecutive_successes += 1
            return
        self.consecutive_failures += 1
        self.consecutive_successes = 0
        self.collect_evidence(outcome, now)

    def count(self, outcome: CheckOutcome, now: datetime) -> bool:
        """Update the confirmed state; returns whether it (or its severity) changed."""
        if not outcome.ok and self.first_failure_at is None:
            self.first_failure_at = now
        self.count_streak(outcome, now)
        if outcome.ok:
            if self.state == ProbeState.UP or self.consecutive_successes < self.needed(
                self.successes_to_confirm
            ):
                return False
            changed = self.state == ProbeState.DOWN
            self.state, self.first_failure_at, self.failure_status = ProbeState.UP, None, ""
            return changed
        if self.consecutive_failures < self.needed(self.failures_to_confirm):
            return False
        status = outcome.status or self.outage_status
        if self.state == ProbeState.DOWN and status == self.confirmed_outage_status:
            return False
        self.state, self.failure_status = ProbeState.DOWN, status
        return True

    def count_votes(
        self, outcome: CheckOutcome, now: datetime, down: list[str], live: int | None = None
    ) -> bool:
        """Update the confirmed state from the regions that confirm a failure (`down`) out
        of the `live` ones (default: all configured); returns whether it (or its severity)
        changed."""
        needed = self.quorum_needed if live is None else self.quorum_of(live)
        if len(down) >= needed:
            status = (
                self.confirmed_outage_status
                if outcome.ok
                else (outcome.status or self.outage_status)
            )
            if self.state == ProbeState.DOWN and status == self.confirmed_outage_status:
                return False
            self.first_failure_at = self.first_failure_at or now
            self.state, self.failure_status = ProbeState.DOWN, status
            return True
        if self.state == ProbeState.DOWN:
            self.state, self.first_failure_at, self.failure_status = ProbeState.UP, None, ""
            return True
        if outcome.ok and self.state == ProbeState.UNKNOWN:
            self.state = ProbeState.UP
        return False

    def report(self) -> Verdict:
        """The verdict that brings the public picture in line with the confirmed state."""
        if self.state == ProbeState.DOWN:
            desired = self.confirmed_outage_status
        elif self.state == ProbeState.UP:
            desired = ComponentStatus.OPERATIONAL
        else:
            return Verdict.NONE
        if desired == self.reported:
            return Verdict.NONE
        was, self.reported = self.reported, desired
        if desired != ComponentStatus.OPERATIONAL:
            return Verdict.CONFIRMED_DOWN
        return (
            Verdict.CONFIRMED_UP if was not in ("", ComponentStatus.OPERATIONAL) else Verdict.NONE
        )
