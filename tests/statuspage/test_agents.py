"""Probe agents in several regions: authenticated pull of assignments and push of results,
field errors for bad results, and a quorum of regions before anything is an outage."""

import asyncio
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command

from incidents.console import alerts
from incidents.models import Incident
from statuspage import clock
from statuspage.models import CheckResult, Component, Probe, ProbeAgent, ProbeState
from statuspage.probes.agent_client import Agent
from tests.factories import make_component
from tests.statuspage.servers import Answer

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def agents():
    eu, eu_token = ProbeAgent.register("eu-1", "eu-west")
    us, us_token = ProbeAgent.register("us-1", "us-east")
    return {"eu-west": eu_token, "us-east": us_token}


def regional_probe(url: str, **fields) -> Probe:
    defaults = {
        "interval_seconds": 30,
        "failures_to_confirm": 2,
        "successes_to_confirm": 1,
        "regions": ["eu-west", "us-east"],
        "name": "follow api",
    }
    component = Component.objects.first() or make_component()
    return Probe.objects.create(component=component, url=url, **{**defaults, **fields})


def unreachable_from(region: str):
    """The target answers every region but one: that region's network path is broken."""

    def answer(headers):
        return (
            Answer(503, "no route") if f"(region {region})" in headers["User-Agent"] else Answer()
        )

    return answer


def run_agents(server_url: str, tokens: dict, times: int = 1) -> None:
    for _ in range(times):
        for region, token in tokens.items():
            asyncio.run(Agent(server_url, token, region).run_once())


def test_an_agent_pulls_only_its_regions_probes(client, agents):
    mine = regional_probe("http://127.0.0.1:1/a", regions=["eu-west"])
    regional_probe("http://127.0.0.1:1/b", regions=["us-east"], name="b")
    body = client.get(
        "/api/agent/v1/assignments", HTTP_AUTHORIZATION=f"Bearer {agents['eu-west']}"
    ).json()
    assert body["region"] == "eu-west"
    assert [p["id"] for p in body["probes"]] == [mine.id]
    assert body["probes"][0]["url"] == "http://127.0.0.1:1/a"


def test_the_agent_api_needs_a_valid_token(client, agents):
    assert client.get("/api/agent/v1/assignments").status_code == 401
    response = client.post(
        "/api/agent/v1/results",
        data={"results": []},
        content_type="application/json",
        HTTP_AUTHORIZATION="Bearer nope",
    )
    assert response.status_code == 401


def test_bad_results_are_refused_with_field_errors_and_nothing_is_stored(client, agents):
    probe = regional_probe("http://127.0.0.1:1/a")
    other = regional_probe("http://127.0.0.1:1/b", regions=["us-east"], name="other")
    results = [
        {"probe_id": probe.id, "checked_at": clock.now().isoformat(), "ok": True, "latency_ms": 12},
        {"probe_id": other.id, "checked_at": "yesterday", "ok": "yes", "latency_ms": -1},
    ]
    response = client.post(
        "/api/agent/v1/results",
        data={"results": results},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {agents['eu-west']}",
    )
    assert response.status_code == 400
    assert response.json()["errors"] == {
        "results[1].probe_id": "not a probe assigned to this agent's region",
        "results[1].checked_at": "must be an ISO 8601 time with an offset",
        "results[1].ok": "must be true or false",
        "results[1].latency_ms": "must be a number of milliseconds",
    }
    assert CheckResult.objects.count() == 0


def test_results_far_from_the_servers_clock_are_refused(client, agents):
    probe = regional_probe("http://127.0.0.1:1/a")
    late = (clock.now() + timedelta(minutes=5)).isoformat()
    response = client.post(
        "/api/agent/v1/results",
        content_type="application/json",
        data={"results": [{"probe_id": probe.id, "checked_at": late, "ok": True, "latency_ms": 1}]},
        HTTP_AUTHORIZATION=f"Bearer {agents['eu-west']}",
    )
    assert response.json()["errors"] == {
        "results[0].checked_at": "is too far from the server's clock"
    }


def test_one_region_failing_is_shown_to_staff_not_as_an_outage(live_server, web, agents):
    web.routes["/health"] = unreachable_from("eu-west")
    probe = regional_probe(f"{web.url}/health")
    run_agents(live_server.url, agents, times=3)
    probe.refresh_from_db()
    assert probe.state == ProbeState.UP and Incident.objects.count() == 0
    assert probe.component.status == "operational"
    assert set(CheckResult.objects.values_list("region", flat=True)) == {"eu-west", "us-east"}
    [alert] = [a for a in alerts.staff_alerts() if a.kind == "region"]
    assert alert.message.startswith(
        "Region eu-west cannot reach Follow app alerts (follow api): HTTP 503, expected 200."
    )


def test_a_quorum_of_regions_failing_opens_the_incident(live_server, web, agents):
    web.routes["/health"] = Answer(503, "down")
    probe = regional_probe(f"{web.url}/health")
    run_agents(live_server.url, agents, times=2)
    probe.refresh_from_db()
    assert probe.state == ProbeState.DOWN
    incident = Incident.objects.get()
    assert incident.origin_probe_id == probe.id
    web.routes["/health"] = Answer(200, "OK")
    run_agents(live_server.url, agents, times=1)
    probe.refresh_from_db()
    assert probe.state == ProbeState.UP
    assert Incident.objects.get().status == "monitoring"


def test_a_quorum_of_one_trusts_any_region(live_server, web, agents):
    web.routes["/health"] = unreachable_from("us-east")
    probe = regional_probe(f"{web.url}/health", quorum=1)
    run_agents(live_server.url, agents, times=2)
    probe.refresh_from_db()
    assert probe.state == ProbeState.DOWN and Incident.objects.count() == 1


def test_the_engine_leaves_regional_probes_to_their_agents(web):
    from statuspage.probes.engine import run_due_probes

    regional_probe(f"{web.url}/health")
    assert run_due_probes() == []


def test_probe_agent_command_refuses_a_token_of_another_region(live_server, agents):
    with pytest.raises(CommandError, match="this token belongs to region 'eu-west', not 'us-east'"):
        call_command(
            "probe_agent",
            "--server",
            live_server.url,
            "--token",
            agents["eu-west"],
            "--region",
            "us-east",
            "--once",
        )


def test_add_probe_agent_prints_a_token_that_works(client, capsys):
    call_command("add_probe_agent", "ap-1", "--region", "ap-south")
    token = capsys.readouterr().out.strip().splitlines()[-1]
    response = client.get("/api/agent/v1/assignments", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200 and response.json()["region"] == "ap-south"


def test_every_agent_token_can_follow_token_on_the_command_line():
    from statuspage.management.commands.probe_agent import Command

    parser = Command().create_parser("manage.py", "probe_agent")
    for _ in range(1000):
        token = ProbeAgent.new_token()
        options = parser.parse_args(
            ["--server", "http://127.0.0.1:1", "--token", token, "--region", "eu"]
        )
        assert options.token == token


def test_probe_agent_reads_its_token_from_the_environment(live_server, agents, monkeypatch):
    monkeypatch.setenv("PROBE_AGENT_TOKEN", agents["eu-west"])
    with pytest.raises(CommandError, match="this token belongs to region 'eu-west', not 'us-east'"):
        call_command("probe_agent", "--server", live_server.url, "--region", "us-east", "--once")


def test_probe_agent_without_a_token_says_how_to_give_one(monkeypatch):
    monkeypatch.delenv("PROBE_AGENT_TOKEN", raising=False)
    with pytest.raises(CommandError, match="set PROBE_AGENT_TOKEN or pass --token"):
        call_command("probe_agent", "--server", "http://127.0.0.1:1", "--region", "eu", "--once")
