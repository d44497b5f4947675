"""Heartbeats: the monitored system pings us; silence past its schedule and grace is a failure.

This is the "no data" alarm: it catches a pipeline that stopped delivering while its health
endpoint still answers 200. A heartbeat needs no network from us, so the engine evaluates it
inside the database step, against the probe row it has locked.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from croniter import croniter

from statuspage.checks.expressions import ExpressionError
from statuspage.checks.freshness import (
    NUMBER_FIELDS,
    NUMBER_VALIDATORS,
    number_outcome,
    threshold_problems,
)
from statuspage.checks.outcome import CheckOutcome
from statuspage.checks.registry import ProbeKind, register

if TYPE_CHECKING:
    from statuspage.models import Probe


class PingKind:
    SUCCESS = "success"
    START = "start"
    FAIL = "fail"


def validate_schedule(expression: str) -> None:
    if not croniter.is_valid(expression):
        raise ExpressionError(
            f"'{expression}' is not a cron expression (five fields, e.g. '*/5 * * * *')."
        )


def next_cron_time(expression: str, after: datetime, zone: ZoneInfo) -> datetime:
    """The first time the schedule fires after `after`, read on the wall clock of `zone`.

    Daylight saving time as cron itself handles it: a time that the spring change skips
    fires at the change (02:30 -> 03:00), and a wall-clock time that the autumn change
    repeats is expected once, not again an hour later, so a daily job is never awaited twice.
    """
    local = after.astimezone(zone)
    times = croniter(expression, local)
    candidate = times.get_next(datetime)
    while candidate.replace(tzinfo=None) <= local.replace(tzinfo=None):
        candidate = times.get_next(datetime)
    return candidate.astimezone(UTC)


def expected_by(probe: Probe) -> datetime:
    """When the next ping is due: after the last one (or since monitoring began)."""
    base = probe.last_ping_at or probe.created_at
    if probe.schedule:
        return next_cron_time(probe.schedule, base, ZoneInfo(probe.tz))
    return base + probe.interval


def wall_time(probe: Probe, moment: datetime) -> str:
    """A time as the probe's owner reads its schedule: in the probe's zone, named."""
    return f"{moment.astimezone(ZoneInfo(probe.tz)):%Y-%m-%d %H:%M:%S %Z}"


RECHECK_WHILE_LATE = timedelta(seconds=10)
JUST_AFTER = timedelta(seconds=1)


def deadline(probe: Probe) -> datetime:
    """The moment silence becomes a failure: a running job's grace, else the next ping's."""
    grace = timedelta(seconds=probe.grace_seconds)
    started = probe.last_start_at
    if started and (probe.last_ping_at is None or started > probe.last_ping_at):
        return started + grace
    return expected_by(probe) + grace


def next_evaluation(probe: Probe, now: datetime) -> datetime:
    """Judge the heartbeat just after its deadline, not on a fixed cadence, so silence is
    caught within a second; while it is late, look again every few seconds."""
    candidate = deadline(probe) + JUST_AFTER
    return candidate if candidate > now else now + RECHECK_WHILE_LATE


def evaluate(probe: Probe, now: datetime) -> CheckOutcome | None:
    """A failure that says what is missing and since when; None while nothing is late.

    Only a success ping is evidence of health, so on-time silence yields no result at all:
    a job that reported failure stays failed until it reports success.
    """
    grace = timedelta(seconds=probe.grace_seconds)
    started = probe.last_start_at
    if started and (probe.last_ping_at is None or started > probe.last_ping_at):
        if now > started + grace:
            return CheckOutcome(
                False,
                0,
                None,
                f"run started at {wall_time(probe, started)} did not finish "
                f"within the {probe.grace_seconds} s grace period",
            )
        return None
    deadline = expected_by(probe) + grace
    if now <= deadline:
        return None
    last = wall_time(probe, probe.last_ping_at) if probe.last_ping_at else "never"
    return CheckOutcome(
        False,
        0,
        None,
        f"no ping: last at {last}, expected by {wall_time(probe, deadline - grace)} "
        f"(+{probe.grace_seconds} s grace)",
    )


def outcome_of_ping(probe: Probe, kind: str, body: str) -> CheckOutcome | None:
    """A success or fail ping is a result; a start ping only opens the run's clock.

    A success ping may carry a number (data age, backlog) in a JSON body: with a value
    path and thresholds on the probe, that number decides the result.
    """
    if kind == PingKind.START:
        return None
    if kind == PingKind.SUCCESS and probe.value_path:
        return number_outcome(probe.value_path, body, probe.degraded_above, probe.outage_above)
    if kind == PingKind.FAIL:
        detail = body.strip().splitlines()[0][:300] if body.strip() else ""
        return CheckOutcome(
            False, 0, None, f"the job reported failure{': ' + detail if detail else ''}"
        )
    return CheckOutcome(True, 0)


@dataclass(frozen=True)
class HeartbeatCheck:
    """Marker for the engine: evaluated against the locked row, not over the network."""

    probe_id: int

    @classmethod
    def from_probe(cls, probe: Probe) -> HeartbeatCheck:
        return cls(probe.id)

    async def run(self, session=None) -> None:
        return None


@register
class Heartbeat(ProbeKind):
    name = "heartbeat"
    check = HeartbeatCheck
    fields = ("schedule", "tz", "grace_seconds", *NUMBER_FIELDS)
    readouts = ("ping_key", "last_ping_at", "last_start_at")
    validators = {"schedule": validate_schedule, **NUMBER_VALIDATORS}
    pushed = True
    confirms_at_once = True

    def next_run(self, probe: Probe, now: datetime) -> datetime:
        return next_evaluation(probe, now)

    def cross_problems(self, probe: Probe) -> dict[str, str]:
        return threshold_problems(probe)
