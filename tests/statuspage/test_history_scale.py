"""The public answers at a long history: the queries of the page, /history, the v2 incident
endpoints and the feeds do not grow with the number of components, incidents or days of
history, and what they list is bounded. The history is seeded as the benchmark seeds it
(bench/history.py, `make bench-history`), at two sizes."""

from __future__ import annotations

from datetime import timedelta

import feedparser
import pytest
import time_machine
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from bench.history import beat_for_the_run, make_components, seed_history
from incidents.models import Incident
from statuspage.models import Component
from statuspage.picture import monitoring
from tests.clock import NOW

pytestmark = pytest.mark.django_db

ANSWERS = [
    "/",
    "/history",
    "/api/v2/incidents.json",
    "/api/v2/incidents/unresolved.json",
    "/api/v2/summary.json",
    "/history.rss",
    "/history.atom",
    "/components/{component}/history.atom",
]


def cold_queries(client, path: str) -> int:
    """Queries of one render with nothing cached (the engine-liveness read included)."""
    monitoring.forget()
    cache.clear()
    with CaptureQueriesContext(connection) as context:
        assert client.get(path).status_code == 200
    return len(context.captured_queries)


def answers(client) -> dict[str, int]:
    component = Component.objects.order_by("id").first().public_id
    return {path: cold_queries(client, path.format(component=component)) for path in ANSWERS}


@pytest.fixture
def at_now(settings):
    """The live renders: the answer store (statuspage.public.store) stays out of the way."""
    settings.ANSWERS = {**settings.ANSWERS, "ENABLED": False}
    with time_machine.travel(NOW, tick=False):
        beat_for_the_run(NOW)
        make_components(2, NOW - timedelta(days=40))
        yield


def test_public_answers_take_the_same_queries_at_a_month_and_at_a_year_of_history(client, at_now):
    seed_history(NOW, components=4, incidents=12, days=40, hourly_days=2)
    small = answers(client)
    seed_history(NOW, components=12, incidents=150, days=365, hourly_days=2)
    assert Incident.objects.count() == 162
    assert answers(client) == small


def test_a_year_of_history_lists_bounded_pages_of_incidents(client, at_now):
    seed_history(NOW, components=5, incidents=120, days=365, hourly_days=1)
    assert len(client.get("/api/v2/incidents.json").json()["incidents"]) == 50
    for path in ("/history.rss", "/history.atom"):
        assert len(feedparser.parse(client.get(path).content).entries) == 50
    history = client.get("/history").content.decode()
    listed = history.count('class="past-incident')
    three_months = Incident.objects.filter(started_at__gte=NOW - timedelta(days=92)).count()
    assert 0 < listed <= three_months < 120


def test_the_page_shows_ninety_bars_per_component_whatever_the_length_of_history(client, at_now):
    seed_history(NOW, components=6, incidents=40, days=365, hourly_days=1)
    html = client.get("/").content.decode()
    assert html.count('<ol class="uptime-bars"') == 6
    assert html.count('<li class="bar') == 6 * 90


def test_status_labels_stay_translated_and_unknown_values_show_as_stored():
    from django.utils import translation

    from incidents.models import IncidentUpdate

    with translation.override("es"):
        assert Component(status="major_outage").get_status_display() == "Interrupción grave"
        assert Incident(status="resolved").get_status_display() == "Resuelto"
        assert IncidentUpdate(status="resolved").get_status_display() == "Resuelto"
    assert Component(status="retired").get_status_display() == "retired"
