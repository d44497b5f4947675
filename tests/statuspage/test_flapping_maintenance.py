"""Careful verdicts: a flapping probe tells staff and holds the public picture; maintenance
suppresses alarms; both catch up with one verdict once things are steady."""

from datetime import datetime, timedelta

import pytest
import time_machine

from incidents.console import alerts
from incidents.models import Incident
from incidents.response import maintenance
from statuspage.models import CheckOutcome, ComponentStatus, Probe, ProbeState, Verdict
from statuspage.probes.engine import record_outcome
from tests.clock import NOW
from tests.factories import make_component, make_probe

OK = CheckOutcome(ok=True, latency_ms=12)
FAIL = CheckOutcome(ok=False, latency_ms=3, error="HTTP 503, expected 200")


def quick_probe(**fields) -> Probe:
    defaults = {
        "failures_to_confirm": 1,
        "successes_to_confirm": 1,
        "state": ProbeState.UP,
        "flap_threshold": 3,
        "flap_window_seconds": 600,
    }
    return Probe(url="http://127.0.0.1:1/health", **{**defaults, **fields})


def flip(probe: Probe, times: int, start: datetime, every: int = 30):
    verdicts = []
    for n in range(times):
        outcome = FAIL if n % 2 == 0 else OK
        verdicts.append(probe.apply_outcome(outcome, start + timedelta(seconds=every * n)))
    return verdicts


def test_more_changes_than_the_threshold_in_the_window_is_flapping():
    probe = quick_probe()
    verdicts = flip(probe, 6, NOW)
    assert verdicts[:3] == [Verdict.CONFIRMED_DOWN, Verdict.CONFIRMED_UP, Verdict.CONFIRMED_DOWN]
    assert verdicts[3:] == [Verdict.NONE] * 3, "flapping holds the public picture"
    assert probe.flapping_since == NOW + timedelta(seconds=90)
    assert probe.reported == ComponentStatus.MAJOR_OUTAGE, "it holds the worse state"


def test_changes_spread_wider_than_the_window_are_not_flapping():
    probe = quick_probe()
    verdicts = flip(probe, 6, NOW, every=700)
    assert Verdict.NONE not in verdicts
    assert probe.flapping_since is None


def test_flapping_ends_after_a_quiet_window_with_one_catch_up_verdict():
    probe = quick_probe()
    flip(probe, 6, NOW)  # ends on OK: confirmed up, public still held at outage
    assert probe.apply_outcome(OK, NOW + timedelta(seconds=400)) == Verdict.NONE
    assert probe.apply_outcome(OK, NOW + timedelta(seconds=150 + 601)) == Verdict.CONFIRMED_UP
    assert probe.flapping_since is None


@pytest.mark.django_db
def test_a_flapping_probe_opens_one_incident_and_warns_staff():
    probe = make_probe(
        make_component(),
        "http://127.0.0.1:1/health",
        failures_to_confirm=1,
        successes_to_confirm=1,
        flap_threshold=3,
        flap_window_seconds=600,
    )
    with time_machine.travel(NOW, tick=False) as traveller:
        for n in range(10):
            record_outcome(probe.id, FAIL if n % 2 == 0 else OK, NOW + timedelta(seconds=30 * n))
            traveller.shift(timedelta(seconds=30))
        assert Incident.objects.count() == 1
        assert Incident.objects.get().status == "investigating", "held, not closed"
        kinds = [a.kind for a in alerts.staff_alerts()]
    assert "flapping" in kinds
    [alert] = [a for a in alerts.staff_alerts() if a.kind == "flapping"]
    assert "is flapping: 4 changes of state in 10 minutes" in alert.message


def test_suppressed_results_are_counted_but_not_reported():
    probe = quick_probe()
    assert probe.apply_outcome(FAIL, NOW, suppressed=True) == Verdict.NONE
    assert probe.state == ProbeState.DOWN
    assert probe.apply_outcome(FAIL, NOW + timedelta(seconds=30)) == Verdict.CONFIRMED_DOWN


@pytest.mark.django_db
def test_maintenance_window_suppresses_the_alarm_then_reports_after_it():
    component = make_component()
    probe = make_probe(component, "http://127.0.0.1:1/health", failures_to_confirm=1)
    maintenance.schedule(
        "Database upgrade",
        "",
        [component],
        NOW - timedelta(minutes=1),
        NOW + timedelta(seconds=15),
        None,
        NOW - timedelta(hours=1),
    )
    record_outcome(probe.id, FAIL, NOW)
    record_outcome(probe.id, FAIL, NOW + timedelta(seconds=10))
    assert maintenance.is_under_maintenance(component, NOW + timedelta(seconds=10))
    assert Incident.objects.filter(kind=Incident.Kind.INCIDENT).count() == 0
    record_outcome(probe.id, FAIL, NOW + timedelta(seconds=20))
    assert Incident.objects.filter(kind=Incident.Kind.INCIDENT).count() == 1, (
        "still failing after maintenance: now it is an outage"
    )
