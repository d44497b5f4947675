"""Builders for the notifier tests: an incident with an update, and subscribers."""

from __future__ import annotations

import pytest
import requests
import time_machine

from incidents.models import AffectedComponent, Incident, IncidentUpdate
from notifiers.subscribers import Subscriber
from tests.clock import NOW
from tests.factories import make_component


@pytest.fixture(autouse=True)
def starting_at_now():
    """Every notifier test starts at NOW (and the clock runs on from there), whatever
    today's date: retries, backoff and coalescing are judged against the times tests name,
    and rows written at the current time are due when a test moves to NOW plus a few
    minutes."""
    with time_machine.travel(NOW, tick=True):
        yield


@pytest.fixture(autouse=True)
def notifier_settings(settings, sandbox):
    """Callbacks go nowhere (the discard port) unless a test serves the site; SMS fast."""
    settings.STATUSPAGE = {
        **settings.STATUSPAGE,
        "URL": "http://127.0.0.1:9",
        "NAME": "Acme Status",
    }
    settings.TWILIO = {**settings.TWILIO, "SMS_PER_SECOND": 1000.0}
    settings.NOTIFIERS = {**settings.NOTIFIERS, "SEND_SLICE_SECONDS": 30.0}
    requests.delete(f"{sandbox.url}/_sandbox/twilio/opt-outs", timeout=5)
    return settings


@pytest.fixture
def component(db):
    return make_component("Follow app alerts", advice="Check glucose with a meter.")


def make_incident(component, now=NOW) -> Incident:
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


def add_update(incident, kind: str, now=NOW, body: str = "We are investigating.") -> IncidentUpdate:
    return IncidentUpdate.objects.create(
        incident=incident,
        kind=kind,
        status=incident.status,
        body=body,
        display_at=now,
        created_at=now,
        updated_at=now,
    )


def subscribe(
    channel: str, address: str, components=(), confirmed=True, now=NOW, **fields
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
