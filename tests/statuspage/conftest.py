"""Builders for the public side: an outage opened through the real workflow, a resolved one."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import time_machine

from incidents import workflow
from statuspage.models import ProbeState, Verdict
from tests.factories import make_component, make_probe

T0 = datetime(2026, 11, 27, 1, 0, tzinfo=timezone.utc)


@pytest.fixture(autouse=True)
def default_language():
    """A request through the test client leaves its language active in this thread; without
    this, a Spanish request would make later code (incident names, messages) Spanish."""
    from django.utils import translation

    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def empty_cache():
    """Cached fragments (uptime bars, response-time charts) must not cross tests that freeze
    the clock at the same minute."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


def open_outage_at(now: datetime, name: str = "Follow app alerts", audience: str = "follow-app"):
    """A confirmed probe failure at `now`, through the same workflow the engine uses."""
    from statuspage.models import Component

    component = Component.objects.filter(name=name).first() or make_component(
        name, audience_slug=audience
    )
    probe = component.probes.first() or make_probe(component, "http://127.0.0.1:1/health")
    probe.state = ProbeState.DOWN
    probe.first_failure_at = now - timedelta(seconds=20)
    probe.save()
    with time_machine.travel(now, tick=False):
        return workflow.handle_verdict(probe, Verdict.CONFIRMED_DOWN, now)


def resolve_at(incident, now: datetime):
    with time_machine.travel(now, tick=False):
        workflow.resolve(incident, now)
    incident.refresh_from_db()
    return incident


@pytest.fixture
def resolved_incident(db):
    incident = open_outage_at(T0 - timedelta(days=3))
    return resolve_at(incident, T0 - timedelta(days=3) + timedelta(hours=2))


@pytest.fixture
def live_outage(db):
    make_component("Share upload", audience_slug="share-app", advice="")
    return open_outage_at(T0)
