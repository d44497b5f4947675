"""Escalation levels inside a page step: level 1 at the step's time, then each next level
when the previous one waited its `wait_minutes` without an acknowledgement, then the levels
again from the first, `levels_repeat` more times.

Each (round, level) is one occurrence of the step under its own FiredStep key, so the
clock's unique key fires each exactly once across engines; an acknowledgement stops the
rest (the clock's `blocked`). Who a level pages is read when it fires and recorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from incidents.models import EscalationLevel, EscalationStep, Incident
from incidents.response.oncall import scheduled_people
from notifiers.channels.oncall import current_contacts


@dataclass(frozen=True)
class LevelTurn:
    """One (round, level) occurrence of a page step."""

    key: str
    due_at: datetime
    level: EscalationLevel
    number: int


def step_levels(step: EscalationStep) -> list[EscalationLevel]:
    return list(step.levels.all())


def turns(incident: Incident, step: EscalationStep) -> list[LevelTurn]:
    """Every occurrence of the step's levels, in order of time."""
    levels = step_levels(step)
    if not levels:
        return []
    round_length = sum((timedelta(minutes=lv.wait_minutes) for lv in levels), timedelta(0))
    at = incident.detected_at + step.delay
    result = []
    for rnd in range(step.levels_repeat + 1):
        offset = timedelta(0)
        for number, level in enumerate(levels, start=1):
            key = f"step:{step.id}:round:{rnd}:level:{number}"
            result.append(LevelTurn(key, at + rnd * round_length + offset, level, number))
            offset += timedelta(minutes=level.wait_minutes)
    return result


def due_turns(
    incident: Incident, step: EscalationStep, now: datetime, taken: set[str]
) -> list[LevelTurn]:
    """The turns due by now and not yet taken, oldest first."""
    return [t for t in turns(incident, step) if t.due_at <= now and t.key not in taken]


def next_turn(incident: Incident, step: EscalationStep, taken: set[str]) -> LevelTurn | None:
    return next((t for t in turns(incident, step) if t.key not in taken), None)


def turn_for_key(incident: Incident, step: EscalationStep, key: str) -> LevelTurn | None:
    return next((t for t in turns(incident, step) if t.key == key), None)


def default_people(moment: datetime) -> list:
    """A page step without levels: the person on call in every schedule, or (no schedule
    configured) the roster of NOTIFIERS_ONCALL_PROVIDER."""
    scheduled = scheduled_people(moment)
    return current_contacts() if scheduled is None else scheduled
