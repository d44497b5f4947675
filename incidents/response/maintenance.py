"""Scheduled maintenance: whether a component is in a window, and the window's own clock.

A maintenance is an Incident of kind MAINTENANCE (as Statuspage has it): scheduled ->
in_progress -> verifying -> completed. It is announced ahead at `announce_before_minutes`,
starts and completes by itself at its times, and while it runs its components show
under_maintenance and their probes open no incidents.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.db import transaction
from django.db.models import Q

from incidents.messages import render_message
from incidents.models import (
    ACTIVE_MAINTENANCE_STATUSES,
    AffectedComponent,
    FiredStep,
    Incident,
    IncidentStatus,
    IncidentUpdate,
)
from incidents.response import audit
from incidents.response.maintenance_clock import DEFAULT_ANNOUNCE_BEFORE_MINUTES, complete, start
from incidents.response.timeline import add_update, context_for
from statuspage.models import Audience, Component, ComponentStatus


def is_under_maintenance(component: Component, now: datetime) -> bool:
    """True while a maintenance covering the component runs, or its window is open."""
    return component.id in components_under_maintenance([component.id], now)


def components_under_maintenance(component_ids, now: datetime) -> set[int]:
    """Which of these components a running maintenance (or its open window) covers.

    The window counts even before the clock's next tick starts it, so a probe failing in
    the first seconds of planned work opens no incident. One query for any number of
    components: the engine asks once per batch of results.
    """
    in_window = Q(
        status=IncidentStatus.SCHEDULED,
        auto_transition=True,
        scheduled_for__lte=now,
        scheduled_until__gt=now,
    )
    return set(
        Incident.objects.maintenance()
        .filter(components__in=component_ids)
        .filter(Q(status__in=ACTIVE_MAINTENANCE_STATUSES) | in_window)
        .values_list("components", flat=True)
    ) & set(component_ids)


def schedule(
    name: str,
    body: str,
    components: list[Component],
    scheduled_for: datetime,
    scheduled_until: datetime,
    author,
    now: datetime,
    announce_before_minutes: list[int] | None = None,
    auto_transition: bool = True,
    private_to: Iterable[Audience] = (),
) -> Incident:
    """Put planned work on the page now (to the public, or only to the audiences it is
    private to); the clock announces, starts and completes it."""
    if scheduled_until <= scheduled_for:
        raise ValueError("The maintenance must end after it starts.")
    with transaction.atomic():
        maintenance = Incident.objects.create(
            kind=Incident.Kind.MAINTENANCE,
            name=name,
            status=IncidentStatus.SCHEDULED,
            impact="none",
            started_at=scheduled_for,
            detected_at=now,
            published_at=now,
            scheduled_for=scheduled_for,
            scheduled_until=scheduled_until,
            announce_before_minutes=(
                DEFAULT_ANNOUNCE_BEFORE_MINUTES
                if announce_before_minutes is None
                else announce_before_minutes
            ),
            auto_transition=auto_transition,
            created_at=now,
            updated_at=now,
        )
        for component in components:
            AffectedComponent.objects.create(
                incident=maintenance, component=component, status=ComponentStatus.UNDER_MAINTENANCE
            )
        maintenance.make_private_to(private_to)
        text = body or render_message(
            "page", IncidentUpdate.Kind.MAINTENANCE_SCHEDULED, context_for(maintenance)
        )
        add_update(
            maintenance,
            IncidentUpdate.Kind.MAINTENANCE_SCHEDULED,
            text,
            now,
            author=author,
            deliver=False,
        )
        audit.record(
            maintenance, author, "scheduled maintenance", now, after=audit.snapshot(maintenance)
        )
    return maintenance


def set_status(maintenance: Incident, status: str, user, now: datetime) -> None:
    """A person moves the window on; start and completion do what the clock would do."""
    if status == IncidentStatus.IN_PROGRESS and maintenance.status == IncidentStatus.SCHEDULED:
        update = start(maintenance, now, author=user)
        FiredStep.objects.get_or_create(
            incident=maintenance,
            key="start",
            defaults={
                "due_at": now,
                "fired_at": now,
                "fired_by": user,
                "update": update,
                "note": "started by hand",
            },
        )
    elif status == IncidentStatus.COMPLETED:
        complete(maintenance, now, author=user)
    else:
        before = audit.snapshot(maintenance)
        maintenance.transition_to(status, now)
        maintenance.save()
        audit.record(
            maintenance, user, f"maintenance {status}", now, before, audit.snapshot(maintenance)
        )


def upcoming_and_active():
    """What Statuspage's summary lists as scheduled_maintenances: not yet completed, soonest
    first."""
    return (
        Incident.objects.maintenance()
        .filter(status__in=[IncidentStatus.SCHEDULED, *ACTIVE_MAINTENANCE_STATUSES])
        .order_by("scheduled_for")
    )
