"""Builders for the objects tests need: plain functions, imported by test modules and called
by the conftests' fixtures. Moments default to tests.clock.NOW."""

from __future__ import annotations

from datetime import datetime, timedelta

import time_machine
from django.contrib.auth.models import Group, User

from incidents.models import AffectedComponent, Incident, IncidentUpdate
from incidents.response import workflow
from incidents.roles import ensure_roles
from notifiers.delivery import dispatch
from notifiers.models import Announcement, Recipients
from notifiers.subscribers import Subscriber
from statuspage.models import Audience, Component, ComponentGroup, Probe, ProbeState, Verdict
from tests.clock import NOW

# The status page: components, probes, and outages opened through the real workflow.


def make_component(
    name: str = "Follow app alerts",
    audience_slug: str | None = "follow-app",
    advice: str = "Check glucose with a meter.",
) -> Component:
    group, _ = ComponentGroup.objects.get_or_create(name="Cloud")
    component = Component.objects.create(name=name, group=group, advice=advice)
    if audience_slug:
        audience, _ = Audience.objects.get_or_create(
            slug=audience_slug,
            defaults={
                "name": audience_slug.replace("-", " ").title(),
                "push_topic": f"{audience_slug}-status",
            },
        )
        component.audiences.add(audience)
    return component


def make_probe(component: Component, url: str, **fields) -> Probe:
    defaults = {
        "name": "health",
        "interval_seconds": 10,
        "timeout_seconds": 2,
        "failures_to_confirm": 2,
        "successes_to_confirm": 2,
    }
    return Probe.objects.create(component=component, url=url, **{**defaults, **fields})


def open_outage_at(
    now: datetime, name: str = "Follow app alerts", audience: str = "follow-app"
) -> Incident:
    """A confirmed probe failure at `now`, through the same workflow the engine uses."""
    component = Component.objects.filter(name=name).first() or make_component(
        name, audience_slug=audience
    )
    probe = component.probes.first() or make_probe(component, "http://127.0.0.1:1/health")
    probe.state = ProbeState.DOWN
    probe.first_failure_at = now - timedelta(seconds=20)
    probe.save()
    with time_machine.travel(now, tick=False):
        return workflow.handle_verdict(probe, Verdict.CONFIRMED_DOWN, now)


def resolve_at(incident: Incident, now: datetime) -> Incident:
    with time_machine.travel(now, tick=False):
        workflow.resolve(incident, now)
    incident.refresh_from_db()
    return incident


# Incidents written directly, with no workflow, and their announcement: what the notifier
# tests send.


def make_incident(component: Component, now: datetime = NOW) -> Incident:
    incident = Incident.objects.create(
        name="Follow app alerts down",
        impact="critical",
        started_at=now,
        detected_at=now,
        created_at=now,
        updated_at=now,
    )
    AffectedComponent.objects.create(incident=incident, component=component, status="major_outage")
    return incident


def add_update(
    incident: Incident, kind: str, now: datetime = NOW, body: str = "We are investigating."
) -> IncidentUpdate:
    return IncidentUpdate.objects.create(
        incident=incident,
        kind=kind,
        status=incident.status,
        body=body,
        display_at=now,
        created_at=now,
        updated_at=now,
    )


def announce_email(component: Component) -> Announcement:
    """An email announcement of a new incident on `component` to its subscribers, at NOW."""
    update = add_update(make_incident(component), "opened")
    return dispatch.announce(update, "email", Recipients.SUBSCRIBERS, None, NOW)


# People: subscribers, and staff in the roles of incidents.roles.


def subscribe(
    channel: str, address: str, components=(), confirmed=True, now: datetime = NOW, **fields
) -> Subscriber:
    subscriber = Subscriber.objects.create(
        channel=channel,
        address=address,
        all_components=not components,
        confirmed_at=now if confirmed else None,
        created_at=now,
        updated_at=now,
        **fields,
    )
    subscriber.components.set(components)
    return subscriber


def user_in(role: str, username: str, is_staff: bool = False) -> User:
    ensure_roles()  # a transactional test before this one may have flushed the groups
    user = User.objects.create_user(username, password="a-long-test-password", is_staff=is_staff)
    if role:
        user.groups.add(Group.objects.get(name=role))
    return user


def open_by_staff_elsewhere(user: User, count: int = 3) -> list[Incident]:
    """Incidents staff open on components of their own: a dashboard's queries must not grow
    with them."""
    return [
        workflow.open_by_staff(
            f"Other {n}",
            "Something else is slow today.",
            "minor",
            {make_component(f"Part {n}", None): "degraded_performance"},
            user,
            NOW,
        )
        for n in range(count)
    ]
