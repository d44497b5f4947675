"""The engine's batch recorder: every result stored and judged, with a number of queries
that does not grow with the number of results (the engine's capacity depends on it)."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from incidents.models import Incident
from incidents.response import maintenance
from statuspage.models import CheckOutcome, CheckResult, Probe
from statuspage.probes.engine import record_batch
from tests.clock import NOW
from tests.factories import make_component, make_probe

pytestmark = pytest.mark.django_db

OK = CheckOutcome(ok=True, latency_ms=12, status_code=200)
FAIL = CheckOutcome(ok=False, latency_ms=3, status_code=503, error="HTTP 503, expected 200")


def probes(count: int, name: str = "API") -> list[Probe]:
    component = make_component(name)
    return [make_probe(component, f"http://127.0.0.1:1/{n}", name=f"p{n}") for n in range(count)]


def queries_to_record(results) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert record_batch(results) == len(results)
    return len(queries)


def test_recording_a_batch_costs_the_same_queries_for_ten_or_a_hundred_results():
    few = [(p.id, OK, NOW) for p in probes(10)]
    many = [(p.id, OK, NOW) for p in probes(100, "Upload")]
    assert queries_to_record(few) == queries_to_record(many)
    assert CheckResult.objects.count() == 110


def test_a_batch_spanning_two_ticks_asks_about_maintenance_once_per_tick():
    ps = probes(20)
    one_tick = [(p.id, OK, NOW) for p in ps]
    two_ticks = [(p.id, OK, NOW + timedelta(seconds=10 + n % 2)) for n, p in enumerate(ps)]
    assert queries_to_record(two_ticks) == queries_to_record(one_tick) + 1


def test_a_batch_spares_the_component_under_maintenance_and_reports_the_other():
    planned, unplanned = make_component("Database"), make_component("Upload")
    quiet = make_probe(planned, "http://127.0.0.1:1/db", failures_to_confirm=1)
    loud = make_probe(unplanned, "http://127.0.0.1:1/up", failures_to_confirm=1)
    maintenance.schedule(
        "Database upgrade",
        "",
        [planned],
        NOW - timedelta(minutes=1),
        NOW + timedelta(hours=1),
        None,
        NOW - timedelta(hours=1),
    )
    record_batch([(quiet.id, FAIL, NOW), (loud.id, FAIL, NOW)])
    opened = Incident.objects.filter(kind=Incident.Kind.INCIDENT)
    assert [i.origin_probe_id for i in opened] == [loud.id]
    assert CheckResult.objects.filter(ok=False).count() == 2


def test_evidence_grown_in_place_by_a_later_failure_is_saved():
    probe = make_probe(make_component(), "http://127.0.0.1:1/db", failures_to_confirm=3)
    record_batch([(probe.id, FAIL, NOW)])
    record_batch([(probe.id, FAIL, NOW + timedelta(seconds=10))])
    probe.refresh_from_db()
    assert probe.evidence["failures"] == 2
    assert len(probe.evidence["samples"]) == 2
    assert probe.consecutive_failures == 2


def test_a_steady_success_saves_its_check_time_and_counter():
    probe = make_probe(make_component(), "http://127.0.0.1:1/db")
    for n in range(3):
        record_batch([(probe.id, OK, NOW + timedelta(seconds=10 * n))])
    probe.refresh_from_db()
    assert probe.last_checked_at == NOW + timedelta(seconds=20)
    assert probe.consecutive_successes == 3
