"""The public ping URLs and the probe-agent API are rate limited on the subscribe forms'
mechanism: per client address and per key or token, 429 with Retry-After past the budget,
and the budget comes back as the window moves on."""

import asyncio
import subprocess
import sys
import time
from datetime import timedelta

import pytest
import time_machine

from statuspage.models import Component, Probe, ProbeAgent
from statuspage.probes.agent_client import Agent, new_api
from tests.clock import NOW
from tests.factories import make_component
from tests.test_project import ROOT, operator_env

pytestmark = pytest.mark.django_db


@pytest.fixture
def limits(settings):
    settings.RATE_LIMITS = {
        "ping": {"PER_IP": 5, "PER_DESTINATION": 3, "WINDOW_SECONDS": 60},
        "agent": {"PER_IP": 5, "PER_DESTINATION": 2, "WINDOW_SECONDS": 60},
    }
    return settings.RATE_LIMITS


@pytest.fixture
def traveller():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def heartbeat(name: str = "pipeline") -> Probe:
    component = Component.objects.first() or make_component()
    return Probe.objects.create(
        component=component, name=name, kind=Probe.Kind.HEARTBEAT, interval_seconds=300
    )


def test_a_ping_url_past_its_budget_gets_429_with_retry_after(client, limits, traveller):
    probe = heartbeat()
    url = f"/ping/{probe.ping_key}"
    assert [client.get(url).status_code for _ in range(3)] == [200, 200, 200]
    traveller.move_to(NOW + timedelta(seconds=20))
    refused = client.post(url, data=b"done", content_type="text/plain")
    assert refused.status_code == 429
    assert refused["Retry-After"] == "40"
    assert refused["Content-Type"].startswith("text/plain")
    assert refused.content.decode() == (
        "Too many pings for this URL or from this address: retry in 40 s.\n"
    )
    probe.refresh_from_db()
    assert probe.last_ping_at == NOW, "a refused ping records nothing"
    traveller.move_to(NOW + timedelta(seconds=60))
    assert client.get(f"{url}/start").status_code == 200


def test_one_address_shares_its_budget_across_ping_urls_but_not_with_others(
    client, limits, traveller
):
    urls = [f"/ping/{heartbeat(f'job {n}').ping_key}" for n in range(3)]
    assert [client.get(urls[n % 3]).status_code for n in range(6)] == [200] * 5 + [429]
    assert client.get(urls[0], REMOTE_ADDR="192.0.2.7").status_code == 200
    unknown = client.get("/ping/6f1c1f4e-9a43-4a43-a1d0-2b4d2f0c9a11", REMOTE_ADDR="192.0.2.7")
    assert unknown.status_code == 404, "guessing keys uses the same budget"


def test_the_agent_api_past_its_budget_gets_429_json_with_retry_after(client, limits, traveller):
    _, token = ProbeAgent.register("eu-1", "eu-west")
    _, other = ProbeAgent.register("us-1", "us-east")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    assert client.get("/api/agent/v1/assignments", **auth).status_code == 200
    assert (
        client.post(
            "/api/agent/v1/results", {"results": []}, content_type="application/json", **auth
        ).status_code
        == 200
    )
    traveller.move_to(NOW + timedelta(seconds=15))
    refused = client.post(
        "/api/agent/v1/results", {"results": []}, content_type="application/json", **auth
    )
    assert refused.status_code == 429 and refused["Retry-After"] == "45"
    assert refused.json() == {
        "error": "Too many requests from this agent or address: retry in 45 s.",
        "retry_after": 45,
    }
    other_auth = {"HTTP_AUTHORIZATION": f"Bearer {other}"}
    assert client.get("/api/agent/v1/assignments", **other_auth).status_code == 200


def test_token_guessing_is_limited_per_address_before_authentication(client, limits, traveller):
    answers = [
        client.get("/api/agent/v1/assignments", HTTP_AUTHORIZATION=f"Bearer guess-{n}")
        for n in range(6)
    ]
    assert [a.status_code for a in answers] == [401] * 5 + [429]


@pytest.mark.django_db(transaction=True)
def test_a_rate_limited_agent_keeps_its_results_and_waits_for_retry_after(live_server, limits):
    _, token = ProbeAgent.register("eu-1", "eu-west")
    agent = Agent(live_server.url, token, "eu-west")
    agent.buffer.extend([{"probe_id": 1}] * 3)
    limits["agent"]["PER_DESTINATION"] = 0

    async def push() -> int:
        async with new_api() as api:
            return await agent.push(api)

    assert asyncio.run(push()) == 0
    assert len(agent.buffer) == 3, "kept for the next try"
    assert agent.resume_at - time.monotonic() > 55


def test_the_budgets_come_from_the_environment():
    code = "from django.conf import settings; print(settings.RATE_LIMITS['ping'])"
    env = operator_env(
        DJANGO_SETTINGS_MODULE="config.settings",
        PING_PER_KEY_PER_MINUTE="7",
        PING_PER_IP_PER_MINUTE="70",
    )
    out = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.strip() == "{'PER_IP': 70, 'PER_DESTINATION': 7, 'WINDOW_SECONDS': 60}"
