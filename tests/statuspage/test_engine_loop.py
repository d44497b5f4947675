"""The long-lived engine loop: runs due probes, stamps its heartbeat and slip, and on stop
waits for the checks in flight so no result is lost."""

import asyncio
import os

import pytest

from statuspage.models import CheckResult, EngineHeartbeat, Probe
from statuspage.probes.engine import Engine
from tests.factories import make_component
from tests.statuspage.servers import Answer

pytestmark = pytest.mark.django_db(transaction=True)


async def run_until(engine: Engine, condition) -> None:
    """Run the engine and stop it once `condition(engine)` holds (or give up after 20 s)."""

    async def watch():
        for _ in range(1000):
            if condition(engine):
                break
            await asyncio.sleep(0.02)
        engine.stop.set()

    await asyncio.gather(engine.run(), watch())


def test_the_engine_runs_due_probes_and_writes_its_heartbeat(web):
    web.routes["/health"] = Answer(200, "OK")
    probe = Probe.objects.create(component=make_component(), name="api", url=f"{web.url}/health")
    asyncio.run(run_until(Engine(0.05, 10), lambda e: e.completed >= 1))
    result = CheckResult.objects.get(probe=probe)
    assert result.ok and result.status_code == 200
    beat = EngineHeartbeat.objects.get()
    assert beat.pid == os.getpid() and beat.last_cycle_at is not None


def test_stopping_waits_for_checks_in_flight(web):
    web.routes["/slow"] = Answer(200, "OK", delay=0.3)
    probe = Probe.objects.create(component=make_component(), name="api", url=f"{web.url}/slow")
    asyncio.run(run_until(Engine(0.05, 10), lambda e: bool(e.in_flight)))
    assert CheckResult.objects.filter(probe=probe, ok=True).count() == 1


def test_a_batch_with_a_confirmed_failure_opens_the_incident(web):
    from incidents.models import Incident
    from statuspage import clock
    from statuspage.models import CheckOutcome
    from statuspage.probes.engine import record_batch

    ok = Probe.objects.create(
        component=make_component("Share upload"),
        name="ok",
        url=f"{web.url}/a",
        failures_to_confirm=1,
    )
    bad = Probe.objects.create(
        component=make_component(), name="api", url=f"{web.url}/b", failures_to_confirm=1
    )
    now = clock.now()
    assert (
        record_batch(
            [
                (ok.id, CheckOutcome(True, 10), now),
                (bad.id, CheckOutcome(False, 12, 503, "HTTP 503, expected 200"), now),
            ]
        )
        == 2
    )
    incident = Incident.objects.get()
    assert incident.origin_probe_id == bad.id
    assert "HTTP 503" in incident.origin_probe.evidence["samples"][0]["error"]
    assert CheckResult.objects.count() == 2
