"""One outage, end to end, on real parts: a loopback service fails, the engine's probe runs
confirm it, an incident opens once, the public API turns red, the banner says show, and the
follower app's topic receives exactly one push through firebase-admin. Then recovery."""

from datetime import timedelta

import pytest
import time_machine

from incidents.models import Incident, IncidentStatus
from incidents.response import workflow
from notifiers.channels.push import component_topic
from statuspage import clock
from statuspage.demo.service import DemoServer
from statuspage.demo.setup import load_demo
from statuspage.models import Component
from statuspage.probes.engine import run_due_probes
from tests.clock import NOW


@pytest.fixture
def demo_service():
    server = DemoServer(port=0).start()
    yield server
    server.stop()


@pytest.fixture
def demo_config(demo_service, settings):
    settings.DEMO_SERVICE_PORT = demo_service.server_address[1]
    load_demo()


def probe_cycle(traveller, seconds: int = 10):
    traveller.shift(timedelta(seconds=seconds))
    return run_due_probes()


@pytest.mark.django_db(transaction=True)
def test_confirmed_outage_opens_one_incident_turns_api_red_and_pushes_once(
    client, sandbox, demo_service, demo_config, task_queue
):
    with time_machine.travel(NOW, tick=True) as traveller:
        run_due_probes()
        probe_cycle(traveller)
        assert Incident.objects.count() == 0

        demo_service.state.set(False)
        probe_cycle(traveller)
        assert Incident.objects.count() == 0, "one failure alone must not open an incident"

        probe_cycle(traveller)
        probe_cycle(traveller)
        assert Incident.objects.count() == 1
        task_queue()

        summary = client.get("/api/v2/summary.json").json()
        assert summary["status"]["indicator"] == "critical"
        assert summary["status"]["description"] == "Major System Outage"
        statuses = {c["name"]: c["status"] for c in summary["components"]}
        assert statuses["Follow app alerts"] == "major_outage"
        assert statuses["Share upload"] == "operational"
        [incident] = summary["incidents"]
        assert incident["status"] == "investigating"
        assert incident["impact"] == "critical"
        assert [c["name"] for c in incident["components"]] == ["Follow app alerts"]
        assert incident["incident_updates"][0]["affected_components"][0]["new_status"] == (
            "major_outage"
        )

        banner = client.get("/api/v1/banner.json", {"audience": "follow-app"}).json()
        assert banner["show"] is True
        assert banner["severity"] == "critical"
        assert "Follow app alerts" in banner["text"]
        assert client.get("/api/v1/banner.json", {"audience": "share-app"}).json()["show"] is False

        follow = Component.objects.get(name="Follow app alerts")
        pushes = sandbox.recorder.list(provider="fcm", target="/topics/follow-app-status")
        assert len(pushes) == 1
        assert (
            len(sandbox.recorder.list(provider="fcm", target=f"/topics/{component_topic(follow)}"))
            == 1
        )
        message = pushes[0]["payload"]["message"]
        assert message["topic"] == "follow-app-status"
        assert message["notification"]["title"] == "Service problem: Follow app alerts"
        assert message["android"]["priority"] == "high"

        demo_service.state.set(True)
        probe_cycle(traveller)
        probe_cycle(traveller)
        incident = Incident.objects.get()
        assert incident.status == IncidentStatus.MONITORING
        assert Component.objects.get(name="Follow app alerts").status == "operational"
        banner = client.get("/api/v1/banner.json", {"audience": "follow-app"}).json()
        assert banner["title"] == "Service recovering"

        task_queue()
        workflow.resolve(incident, clock.now())
        task_queue()
        summary = client.get("/api/v2/summary.json").json()
        assert summary["status"] == {"indicator": "none", "description": "All Systems Operational"}
        assert summary["incidents"] == []
        assert client.get("/api/v1/banner.json", {"audience": "follow-app"}).json()["show"] is False
        pushes = sandbox.recorder.list(provider="fcm", target="/topics/follow-app-status")
        assert [p["payload"]["message"]["notification"]["title"] for p in pushes] == [
            "Service problem: Follow app alerts",
            "Service recovering: Follow app alerts",
            "Resolved: Follow app alerts",
        ]
