"""Maintenance windows on the clock: announced ahead, started and completed at their times.

Each milestone is a FiredStep under a unique key (ahead:<minutes>, start, complete), so it
happens once whatever engines run; a milestone overtaken by a later one (a notice "starts
in 1 hour" when the work has already begun) is recorded as skipped with the reason.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction

from incidents.messages import render_message
from incidents.models import FiredStep, Incident, IncidentStatus, IncidentUpdate
from incidents.response import audit
from incidents.response.publishing import publish, publish_to_told, registered_channels
from incidents.response.timeline import add_update, change_component, context_for
from notifiers.models import Recipients
from statuspage.models import ComponentStatus

log = logging.getLogger(__name__)

DEFAULT_TARGETS = [
    (Recipients.APP_USERS, ["push"]),
    (Recipients.SUBSCRIBERS, ["email", "sms", "webhook"]),
]
DEFAULT_ANNOUNCE_BEFORE_MINUTES = [72 * 60, 60]


def targets() -> list[tuple[str, list[str]]]:
    return getattr(settings, "MAINTENANCE_ANNOUNCE_TARGETS", DEFAULT_TARGETS)


def tick(now: datetime) -> int:
    done = 0
    pending = Incident.objects.maintenance().filter(
        auto_transition=True,
        status__in=[IncidentStatus.SCHEDULED, IncidentStatus.IN_PROGRESS, IncidentStatus.VERIFYING],
    )
    for maintenance in pending:
        try:
            done += advance(maintenance, now)
        except Exception:
            log.exception("maintenance %s failed to advance; retried next tick", maintenance.id)
    return done


def advance(maintenance: Incident, now: datetime) -> int:
    starts, ends = maintenance.scheduled_for, maintenance.scheduled_until
    if starts is None or ends is None:
        # maintenance.schedule() sets both; only an edit in the admin can clear them.
        raise ValueError("a maintenance window needs scheduled_for and scheduled_until")
    done = 0
    if maintenance.status == IncidentStatus.SCHEDULED:
        done += announce_ahead(maintenance, starts, now)
        if now >= starts:
            done += milestone(maintenance, "start", starts, now, start)
    if maintenance.status in (IncidentStatus.IN_PROGRESS, IncidentStatus.VERIFYING):
        if now >= ends:
            done += milestone(maintenance, "complete", ends, now, complete)
    return done


def announce_ahead(maintenance: Incident, starts: datetime, now: datetime) -> int:
    """Fire the latest notice that is due; older due ones are recorded as overtaken."""
    due = sorted(
        (m for m in maintenance.announce_before_minutes if now >= starts - timedelta(minutes=m)),
        reverse=True,
    )
    taken = set(maintenance.fired_steps.values_list("key", flat=True))
    done = 0
    for index, minutes in enumerate(due):
        key = f"maintenance:ahead:{minutes}"
        if key in taken:
            continue
        at = starts - timedelta(minutes=minutes)
        skip = ""
        if index < len(due) - 1:
            skip = "overtaken by a later notice"
        elif now >= starts:
            skip = "the window had already started"
        done += milestone(maintenance, key, at, now, notify_ahead, skip)
    return done


def milestone(maintenance, key, due_at, now, action, skip: str = "") -> int:
    try:
        with transaction.atomic():
            record = FiredStep.objects.create(
                incident=maintenance,
                key=key,
                due_at=due_at,
                fired_at=now,
                note=skip,
                outcome=FiredStep.Outcome.SKIPPED if skip else FiredStep.Outcome.FIRED,
            )
            if not skip:
                record.update = action(maintenance, now)
                record.note = unavailable_note(record.update)
                record.save(update_fields=["update", "note"])
    except IntegrityError:
        return 0
    return 1


def announce_to_targets(update: IncidentUpdate, now: datetime) -> None:
    for recipients, channels in targets():
        publish(update, recipients, channels, now)


def unavailable_note(update: IncidentUpdate | None) -> str:
    """Say which configured maintenance channels are not registered, as the clock does."""
    missing = {c for _, channels in targets() for c in channels} - registered_channels()
    if update is None or not missing:
        return ""
    return "channel not available: " + ", ".join(sorted(missing))


def notify_ahead(maintenance: Incident, now: datetime) -> IncidentUpdate:
    body = render_message(
        "page", IncidentUpdate.Kind.MAINTENANCE_SCHEDULED, context_for(maintenance, reminder=True)
    )
    update = add_update(maintenance, IncidentUpdate.Kind.MAINTENANCE_SCHEDULED, body, now)
    announce_to_targets(update, now)
    return update


def start(maintenance: Incident, now: datetime, author=None) -> IncidentUpdate:
    before = audit.snapshot(maintenance)
    maintenance.transition_to(IncidentStatus.IN_PROGRESS, now)
    maintenance.save()
    changes = [
        c
        for c in (
            change_component(x, ComponentStatus.UNDER_MAINTENANCE)
            for x in maintenance.components.all()
        )
        if c
    ]
    body = render_message("page", IncidentUpdate.Kind.MAINTENANCE_STARTED, context_for(maintenance))
    update = add_update(
        maintenance,
        IncidentUpdate.Kind.MAINTENANCE_STARTED,
        body,
        now,
        changes or None,
        author=author,
    )
    announce_to_targets(update, now)
    publish_to_told(update, now)
    audit.record(
        maintenance, author, "maintenance started", now, before, audit.snapshot(maintenance)
    )
    return update


def complete(maintenance: Incident, now: datetime, author=None) -> IncidentUpdate:
    before = audit.snapshot(maintenance)
    maintenance.transition_to(IncidentStatus.COMPLETED, now)
    maintenance.save()
    changes = [
        c
        for c in (
            change_component(x, ComponentStatus.OPERATIONAL)
            for x in maintenance.components.filter(status=ComponentStatus.UNDER_MAINTENANCE)
        )
        if c
    ]
    body = render_message(
        "page", IncidentUpdate.Kind.MAINTENANCE_COMPLETED, context_for(maintenance)
    )
    update = add_update(
        maintenance,
        IncidentUpdate.Kind.MAINTENANCE_COMPLETED,
        body,
        now,
        changes or None,
        author=author,
    )
    publish_to_told(update, now)
    audit.record(
        maintenance, author, "maintenance completed", now, before, audit.snapshot(maintenance)
    )
    return update
