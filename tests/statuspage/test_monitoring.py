"""The monitor monitors itself: a silent engine means "status unknown" everywhere, and a page."""

from datetime import timedelta

import pytest
import time_machine
from django.core.management import call_command

from incidents.console import alerts
from incidents.response import workflow
from statuspage.models import EngineHeartbeat, ProbeState, Verdict
from statuspage.picture import monitoring
from statuspage.probes.engine import run_due_probes
from tests.clock import NOW
from tests.factories import make_component, make_probe

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("pager")]


@pytest.fixture
def traveller():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def state_after(traveller, seconds: float):
    traveller.shift(timedelta(seconds=seconds))
    monitoring.forget()
    return monitoring.monitoring_state()


def test_engine_silent_for_two_intervals_means_monitoring_interrupted(traveller):
    make_probe(make_component(), "http://127.0.0.1:1/health")
    monitoring.record_cycle(NOW)
    assert not state_after(traveller, 20).interrupted
    state = state_after(traveller, 1)
    assert state.interrupted and state.since == NOW and state.last_cycle_at == NOW


def test_an_engine_that_never_ran_is_interrupted_once_probes_wait_two_intervals(traveller):
    make_probe(make_component(), "http://127.0.0.1:1/health")
    assert not state_after(traveller, 19).interrupted
    state = state_after(traveller, 2)
    assert state.interrupted and state.last_cycle_at is None


def test_without_probes_there_is_nothing_to_interrupt(traveller):
    make_component()
    assert not state_after(traveller, 3600).interrupted


def test_a_probe_cycle_is_a_heartbeat(traveller):
    make_probe(make_component(), "http://127.0.0.1:1/health", enabled=False)
    make_probe(make_component("Share upload"), "http://127.0.0.1:1/x")
    traveller.shift(timedelta(seconds=60))
    run_due_probes()
    assert EngineHeartbeat.objects.get().last_cycle_at == NOW + timedelta(seconds=60)
    assert not state_after(traveller, 5).interrupted


def test_the_state_is_cached_briefly_for_public_requests(traveller, django_assert_num_queries):
    make_probe(make_component(), "http://127.0.0.1:1/health")
    monitoring.record_cycle(NOW)
    monitoring.monitoring_state()
    with django_assert_num_queries(0):
        monitoring.monitoring_state()


def test_summary_json_says_status_unknown_instead_of_a_stale_green(client, traveller):
    make_probe(make_component(), "http://127.0.0.1:1/health")
    monitoring.record_cycle(NOW)
    traveller.shift(timedelta(seconds=25))
    status = client.get("/api/v2/summary.json").json()["status"]
    assert status == {"indicator": "minor", "description": "Status unknown: monitoring interrupted"}


def test_summary_keeps_a_worse_indicator_while_interrupted(client, traveller):
    component = make_component()
    probe = make_probe(component, "http://127.0.0.1:1/health", state=ProbeState.DOWN)
    workflow.handle_verdict(probe, Verdict.CONFIRMED_DOWN, NOW)
    monitoring.record_cycle(NOW)
    traveller.shift(timedelta(seconds=25))
    status = client.get("/api/v2/summary.json").json()["status"]
    assert status["indicator"] == "critical"
    assert status["description"] == "Status unknown: monitoring interrupted"


def test_summary_is_normal_while_the_engine_beats(client, traveller):
    make_probe(make_component(), "http://127.0.0.1:1/health")
    monitoring.record_cycle(NOW)
    traveller.shift(timedelta(seconds=15))
    status = client.get("/api/v2/summary.json").json()["status"]
    assert status == {"indicator": "none", "description": "All Systems Operational"}


def test_banner_json_shows_status_unknown(client, traveller):
    make_probe(make_component(), "http://127.0.0.1:1/health")
    monitoring.record_cycle(NOW)
    traveller.shift(timedelta(seconds=25))
    banner = client.get("/api/v1/banner.json", {"audience": "follow-app"}).json()
    assert banner["show"] is True
    assert banner["status"] == "unknown"
    assert banner["monitoring_interrupted"] is True
    assert banner["title"] == "Status unknown: our monitoring is interrupted"
    assert "check readings another way" in banner["text"]


def test_banner_keeps_the_incident_and_flags_the_interruption(client, traveller):
    probe = make_probe(make_component(), "http://127.0.0.1:1/health", state=ProbeState.DOWN)
    workflow.handle_verdict(probe, Verdict.CONFIRMED_DOWN, NOW)
    monitoring.record_cycle(NOW)
    traveller.shift(timedelta(seconds=25))
    banner = client.get("/api/v1/banner.json").json()
    assert banner["status"] == "incident" and banner["incident_id"]
    assert banner["monitoring_interrupted"] is True


def test_banner_is_quiet_while_the_engine_beats(client, traveller):
    make_probe(make_component(), "http://127.0.0.1:1/health")
    monitoring.record_cycle(NOW)
    banner = client.get("/api/v1/banner.json").json()
    assert banner["show"] is False and banner["monitoring_interrupted"] is False


def test_the_web_process_pages_oncall_once_per_interruption(client, traveller, pager):
    make_probe(make_component(), "http://127.0.0.1:1/health")
    monitoring.record_cycle(NOW)
    traveller.shift(timedelta(seconds=25))
    client.get("/api/v2/summary.json")
    state_after(traveller, 5)
    client.get("/api/v1/banner.json")
    assert len(pager) == 1
    assert pager[0][0].since == NOW


def test_a_new_cycle_clears_the_alarm_so_the_next_interruption_pages_again(traveller, pager):
    make_probe(make_component(), "http://127.0.0.1:1/health")
    monitoring.record_cycle(NOW)
    state_after(traveller, 25)
    monitoring.record_cycle(NOW + timedelta(seconds=25))
    assert EngineHeartbeat.objects.get().alarm_raised_at is None
    monitoring.record_cycle(NOW + timedelta(seconds=25))
    state_after(traveller, 25)
    assert [state.interrupted for state, _ in pager] == [True, False, True], (
        "interrupted, restored once, interrupted again"
    )


def test_watchdog_pages_and_exits_2_when_the_engine_is_silent(traveller, pager, capsys):
    make_probe(make_component(), "http://127.0.0.1:1/health")
    monitoring.record_cycle(NOW)
    traveller.shift(timedelta(seconds=25))
    with pytest.raises(SystemExit) as exit_:
        call_command("watchdog")
    assert exit_.value.code == 2
    assert "MONITORING INTERRUPTED" in capsys.readouterr().err
    assert len(pager) == 1
    with pytest.raises(SystemExit):
        call_command("watchdog")
    assert len(pager) == 1, "a second run must not page again for the same interruption"


def test_watchdog_is_quiet_while_the_engine_beats(traveller, pager, capsys):
    make_probe(make_component(), "http://127.0.0.1:1/health")
    monitoring.record_cycle(NOW)
    traveller.shift(timedelta(seconds=15))
    call_command("watchdog")
    assert "monitoring OK" in capsys.readouterr().out
    assert pager == []


def test_staff_alerts_include_the_interruption(traveller):
    make_probe(make_component(), "http://127.0.0.1:1/health")
    monitoring.record_cycle(NOW)
    traveller.shift(timedelta(seconds=25))
    [alert] = alerts.staff_alerts()
    assert alert.kind == "monitoring_interrupted" and alert.since == NOW
