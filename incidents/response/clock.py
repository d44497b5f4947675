"""The escalation clock: on every tick, fire the policy steps that are due, each once.

What is due is derived from the database alone (`detected_at + step.delay`, the steps
already recorded, the last update's promise), and a step fires by inserting its FiredStep
under a unique key in the same transaction as its effect. So a restarted engine, a second
engine racing this one, or a clock that jumped, can never fire a step twice; and a step
that was due while no engine ran fires on the next tick instead of being skipped. When a
repeating step missed several repetitions, the latest fires and the older ones are
recorded as skipped with the reason, so nobody gets four reminders at once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction

from incidents.messages import render_message
from incidents.models import (
    Action,
    EscalationStep,
    FiredStep,
    Incident,
    IncidentUpdate,
)
from incidents.response import levels, maintenance_clock
from incidents.response.oncall import paged_so_far, record_page
from incidents.response.policies import assign_policy
from incidents.response.publishing import Outcome, publish, publish_to_told
from incidents.response.timeline import (
    add_update,
    apply_affected_statuses,
    context_for,
    next_update_by,
)
from notifiers.models import Recipients

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Due:
    """One occurrence of a step: its unique key, when it was due, and why it may not fire."""

    step: EscalationStep
    key: str
    due_at: datetime
    skip_reason: str = ""
    turn: levels.LevelTurn | None = None


def tick(now: datetime) -> int:
    """The engine's housekeeping job: advance every open incident and maintenance."""
    fired = 0
    for incident in (
        Incident.objects.incidents().unresolved().opened_here().select_related("policy")
    ):
        try:
            fired += len(advance(incident, now))
        except Exception:
            log.exception("escalation of incident %s failed; retried next tick", incident.id)
    fired += maintenance_clock.tick(now)
    return fired


def advance(incident: Incident, now: datetime) -> list[FiredStep]:
    """Fire every step of the incident's policy that is due now; returns what fired here."""
    if not incident.is_open:
        return []
    policy = incident.policy or assign_policy(incident)
    taken = set(incident.fired_steps.values_list("key", flat=True))
    fired = []
    for step in policy.steps.all():
        for due in due_occurrences(incident, step, now, taken):
            record = fire(incident, due, now)
            if record is not None:
                fired.append(record)
                taken.add(due.key)
    return fired


def grid_key(step: EscalationStep, n: int) -> str:
    return f"step:{step.id}:{n}"


def due_occurrences(
    incident: Incident, step: EscalationStep, now: datetime, taken: set[str]
) -> list[Due]:
    first = incident.detected_at + step.delay
    if now < first or blocked(incident, step, now):
        return []
    if step.action == Action.HOLDING:
        return holding_due(incident, step, now, taken)
    if step.action == Action.PAGE and levels.step_levels(step):
        return level_due(incident, step, now, taken)
    if not step.repeat_every_seconds:
        key = grid_key(step, 0)
        return [] if key in taken else [with_condition(incident, step, Due(step, key, first), now)]
    period = timedelta(seconds=step.repeat_every_seconds)
    latest = int((now - first) / period)
    missed = [
        Due(
            step,
            grid_key(step, n),
            first + n * period,
            "a later repetition was due at the same time "
            "(the engine was stopped or the clock jumped)",
        )
        for n in range(latest)
        if grid_key(step, n) not in taken
    ]
    key = grid_key(step, latest)
    if key in taken:
        return missed
    return missed + [with_condition(incident, step, Due(step, key, first + latest * period), now)]


def level_due(
    incident: Incident, step: EscalationStep, now: datetime, taken: set[str]
) -> list[Due]:
    """The latest level due pages; older ones missed meanwhile are recorded as skipped."""
    due = levels.due_turns(incident, step, now, taken)
    skipped = "a later level was due at the same time (the engine was stopped or the clock jumped)"
    return [Due(step, t.key, t.due_at, skipped, t) for t in due[:-1]] + [
        Due(step, t.key, t.due_at, turn=t) for t in due[-1:]
    ]


def blocked(incident: Incident, step: EscalationStep, now: datetime) -> bool:
    """Acknowledging stops paging; a hold pauses public steps until it ends."""
    if step.action == Action.PAGE and incident.acknowledged_at is not None:
        return True
    return step.is_public and incident.is_held(now)


def with_condition(incident: Incident, step: EscalationStep, due: Due, now: datetime) -> Due:
    if step.action != Action.REMIND or not step.if_quiet_for_seconds:
        return due
    last = last_staff_update_at(incident)
    if last is not None and now - last < timedelta(seconds=step.if_quiet_for_seconds):
        minutes = int((now - last).total_seconds() // 60)
        return Due(step, due.key, due.due_at, f"staff posted an update {minutes} min ago")
    return due


def last_staff_update_at(incident: Incident) -> datetime | None:
    latest = incident.updates.filter(author__isnull=False).order_by("-display_at").first()
    return latest.display_at if latest else None


def holding_due(
    incident: Incident, step: EscalationStep, now: datetime, taken: set[str]
) -> list[Due]:
    """A holding update is due when the last public update's promise has come due."""
    if incident.published_at is None:
        return []
    latest = incident.latest_public_update()
    if latest is None or latest.next_update_by is None or latest.next_update_by > now:
        return []
    key = f"step:{step.id}:after:{latest.public_id}"
    return [] if key in taken else [Due(step, key, latest.next_update_by)]


def fire(
    incident: Incident, due: Due, now: datetime, actor=None, note: str = ""
) -> FiredStep | None:
    """Record the occurrence and do it, in one transaction; None if it was already taken."""
    try:
        with transaction.atomic():
            record = FiredStep.objects.create(
                incident=incident,
                step=due.step,
                key=due.key,
                due_at=due.due_at,
                fired_at=now,
                outcome=FiredStep.Outcome.SKIPPED if due.skip_reason else FiredStep.Outcome.FIRED,
                note=(due.skip_reason or note)[:500],
                fired_by=actor,
            )
            if not due.skip_reason:
                perform(incident, due, record, now)
                record.save(update_fields=["note", "update"])
    except IntegrityError:
        log.info("step %s of incident %s was fired by another engine", due.key, incident.id)
        return None
    except Exception:
        # Rolled back with its record: the step stays due and is tried again next tick.
        log.exception("step %s of incident %s failed", due.key, incident.id)
        return None
    return record


def perform(incident: Incident, due: Due, record: FiredStep, now: datetime) -> None:
    step = due.step
    update: IncidentUpdate | None
    if step.action == Action.PAGE:
        update, outcome = page_oncall(incident, step, now, due.turn)
    else:
        action = {
            Action.PUBLISH: publish_current,
            Action.REMIND: remind_oncall,
            Action.HOLDING: publish_holding,
        }[Action(step.action)]
        update, outcome = action(incident, step, now)
    record.update = update
    record.note = "; ".join(n for n in (record.note, outcome.note()) if n)[:500]


def internal_update(incident: Incident, kind: str, now: datetime) -> IncidentUpdate:
    body = render_message("page", kind, context_for(incident))
    return add_update(incident, kind, body, now, internal=True)


def page_oncall(
    incident, step, now, turn: levels.LevelTurn | None = None
) -> tuple[IncidentUpdate, Outcome]:
    """Page a level's people (a step without levels: whoever is on call), recorded first."""
    update = internal_update(incident, IncidentUpdate.Kind.PAGING, now)
    people = turn.level.people_at(now) if turn else levels.default_people(now)
    record_page(update, people, turn.number if turn else 0)
    outcome = tell_oncall(update, step, now, people)
    if turn is not None:
        outcome.warnings.insert(0, f"level {turn.number}: " + ", ".join(map(str, people)))
    return update, outcome


def remind_oncall(incident, step, now) -> tuple[IncidentUpdate, Outcome]:
    """Remind everyone paged so far (nobody paged yet: whoever is on call)."""
    update = internal_update(incident, IncidentUpdate.Kind.REMINDER, now)
    people = paged_so_far(incident.id) or levels.default_people(now)
    record_page(update, people)
    return update, tell_oncall(update, step, now, people)


def tell_oncall(update: IncidentUpdate, step, now, people: list) -> Outcome:
    outcome = publish(update, Recipients.ONCALL, step.channels, now)
    if not people:
        outcome.warnings.append("no one is on call: add active contacts to the roster")
    return outcome


def publish_current(incident, step, now) -> tuple[IncidentUpdate | None, Outcome]:
    """Make the incident public (first time) and announce its latest update to the step's
    audience."""
    if incident.published_at is None:
        incident.published_at = now
        incident.save(update_fields=["published_at"])
        apply_affected_statuses(incident)
    update = incident.latest_public_update()
    if update is None or not update.deliver_notifications:
        return update, Outcome()
    return update, publish(update, step.recipients, step.channels, now)


def publish_holding(incident, step, now) -> tuple[IncidentUpdate, Outcome]:
    """Keep the promise of the last update with a holding update to everyone told so far."""
    next_by = next_update_by(incident, now)
    body = render_message(
        "page", IncidentUpdate.Kind.HOLDING, context_for(incident, next_by=next_by)
    )
    update = add_update(incident, IncidentUpdate.Kind.HOLDING, body, now, next_by=next_by)
    publish_to_told(update, now)
    return update, Outcome()


# --- Staff controls ----------------------------------------------------------------------


def upcoming(incident: Incident, now: datetime) -> list[dict]:
    """What the clock will do next and when, for the console."""
    if not incident.is_open or incident.policy is None:
        return []
    taken = {fired.key for fired in incident.fired_steps.all()}
    latest = next(iter(incident.updates.all()), None)
    rows = []
    for step in incident.policy.steps.all():
        at = next_time(incident, step, now, taken, latest)
        if at is None:
            continue
        rows.append({"step": step, "at": at, "state": step_state(incident, step, now)})
    return sorted(rows, key=lambda r: r["at"])


def next_time(
    incident: Incident,
    step: EscalationStep,
    now: datetime,
    taken: set[str],
    latest: IncidentUpdate | None = None,
) -> datetime | None:
    """When the step fires next; `latest` is the newest public update (read once by callers)."""
    first = incident.detected_at + step.delay
    if step.action == Action.PAGE and levels.step_levels(step):
        turn = levels.next_turn(incident, step, taken)
        return turn.due_at if turn else None
    if step.action == Action.HOLDING:
        if incident.published_at is None or latest is None or latest.next_update_by is None:
            return None
        return max(first, latest.next_update_by)
    if not step.repeat_every_seconds:
        return None if grid_key(step, 0) in taken else first
    period = timedelta(seconds=step.repeat_every_seconds)
    n = 0 if now < first else int((now - first) / period)
    while grid_key(step, n) in taken:
        n += 1
    return first + n * period


def step_state(incident: Incident, step: EscalationStep, now: datetime) -> str:
    if step.action == Action.PAGE and incident.acknowledged_at is not None:
        return "stopped: acknowledged"
    if step.is_public and incident.is_held(now):
        return "held"
    return "waiting"


def fire_now(incident: Incident, step: EscalationStep, now: datetime, actor) -> FiredStep | None:
    """Publish now: fire the step's next occurrence early, as the staff member asked."""
    taken = set(incident.fired_steps.values_list("key", flat=True))
    leveled = step.action == Action.PAGE and bool(levels.step_levels(step))
    turn = levels.next_turn(incident, step, taken) if leveled else None
    if leveled and turn is None:
        return None  # every level has paged as many times as the step says
    if turn is not None:
        key = turn.key
    elif step.action == Action.HOLDING:
        latest = incident.latest_public_update()
        key = f"step:{step.id}:after:{latest.public_id if latest else 'none'}"
    else:
        at = next_time(incident, step, now, taken, incident.latest_public_update()) or now
        n = (
            0
            if not step.repeat_every_seconds
            else int(
                max(at - incident.detected_at - step.delay, timedelta(0))
                / timedelta(seconds=step.repeat_every_seconds)
            )
        )
        key = grid_key(step, n)
    due = Due(step, key, now, turn=turn)
    return fire(incident, due, now, actor=actor, note=f"fired early by {actor}")
