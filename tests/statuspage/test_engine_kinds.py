"""The engine runs every kind of probe from the database, and keeps staff-only warnings."""

from datetime import timedelta

import pytest
import time_machine

from incidents.console import alerts
from incidents.models import Incident
from incidents.response import workflow
from statuspage.models import CheckResult, Probe, ProbeState
from statuspage.probes.engine import run_due_probes
from tests.clock import NOW
from tests.factories import make_component
from tests.statuspage.servers import Answer

pytestmark = pytest.mark.django_db(transaction=True)


def test_tcp_dns_and_http_probes_run_and_confirm_from_the_database(web, tcp_server, dns_server):
    web.routes["/health"] = Answer(200, {"queue": {"depth": 5}})
    dns_server.zone["api.example.test"] = ["10.0.0.7"]
    common = {"interval_seconds": 10, "failures_to_confirm": 1, "successes_to_confirm": 1}
    http = Probe.objects.create(
        component=make_component("API"),
        name="http",
        url=f"{web.url}/health",
        json_check="$.queue.depth < 1000",
        **common,
    )
    tcp = Probe.objects.create(
        component=make_component("Mail"),
        name="tcp",
        kind="tcp",
        host="127.0.0.1",
        port=tcp_server.port,
        **common,
    )
    dns = Probe.objects.create(
        component=make_component("DNS"),
        name="dns",
        kind="dns",
        host="api.example.test",
        resolver=dns_server.address,
        expected_address="10.0.0.7",
        **common,
    )
    results = run_due_probes()
    assert sorted(probe_id for probe_id, _, _ in results) == sorted([http.id, tcp.id, dns.id])
    assert CheckResult.objects.filter(ok=True).count() == 3
    for probe in (http, tcp, dns):
        probe.refresh_from_db()
        assert probe.state == ProbeState.UP, probe


def test_a_slow_endpoint_is_degraded_then_an_outage_when_slower_with_evidence(web):
    web.routes["/slow"] = Answer(200, "OK", delay=0.12)
    probe = Probe.objects.create(
        component=make_component(),
        name="api",
        url=f"{web.url}/slow",
        interval_seconds=10,
        timeout_seconds=5,
        degraded_latency_ms=50,
        down_latency_ms=1500,
        failures_to_confirm=2,
    )
    with time_machine.travel(NOW, tick=False) as traveller:
        run_due_probes()
        traveller.shift(timedelta(seconds=10))
        run_due_probes()
        probe.refresh_from_db()
        assert probe.component.status == "degraded_performance"
        incident = Incident.objects.get()
        assert incident.impact == "minor"
        evidence = workflow.probe_evidence(incident)
        assert evidence["first_failure_at"] == NOW.isoformat()
        assert len(evidence["samples"]) == 2
        assert evidence["samples"][0]["error"].startswith("slow: ")
        assert evidence["latency_ms"]["max"] >= 120

        web.routes["/slow"] = Answer(200, "OK", delay=1.6)
        for _ in range(2):
            traveller.shift(timedelta(seconds=10))
            run_due_probes()
        probe.component.refresh_from_db()
        assert probe.component.status == "major_outage"
        assert Incident.objects.count() == 1, "a worse state joins the open incident"


def test_a_certificate_close_to_expiry_warns_staff_not_the_public(https_server):
    server = https_server(days_valid=3)
    server.routes["/"] = Answer(200, "OK")
    probe = Probe.objects.create(
        component=make_component(), name="tls", url=f"{server.url}/", interval_seconds=10
    )
    run_due_probes()
    probe.refresh_from_db()
    assert probe.last_warning.startswith("TLS certificate expires in 3 days")
    [alert] = alerts.staff_alerts()
    assert alert.kind == "warning" and alert.probe_id == probe.id
    probe.component.refresh_from_db()
    assert probe.component.status == "operational"
    assert Incident.objects.count() == 0
