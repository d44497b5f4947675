"""Never silent, per probe: a probe nobody checks for two of its intervals makes its component
"status unknown" everywhere the public looks, pages on-call once, and says once when it is
checked again. Quorum counts the regions that still report; one that stopped is named."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from incidents.console import alerts
from incidents.models import Incident, IncidentStatus, IncidentUpdate
from incidents.response import maintenance, maintenance_clock
from statuspage import changes, clock
from statuspage.models import Component, ComponentStatus, Probe, ProbeAgent, ProbeState
from statuspage.picture import monitoring, silence
from statuspage.probes.engine import housekeeping, run_due_probes
from tests.clock import NOW
from tests.factories import make_component, make_probe
from tests.statuspage.pagers import PAGES

pytestmark = pytest.mark.django_db

REGIONS = ["eu-west", "us-east", "ap-south"]


@pytest.fixture(autouse=True)
def quiet_sweeper(pager):
    """Pages recorded, and the sweeper's memory of when it started forgotten around each test."""
    silence.forget()
    yield
    silence.forget()


@pytest.fixture
def traveller():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def agents():
    return {region: ProbeAgent.register(f"{region}-1", region)[1] for region in REGIONS}


def regional_probe(regions=("eu-west", "us-east"), component=None, **fields) -> Probe:
    defaults = {"name": "follow api", "interval_seconds": 30, "successes_to_confirm": 1}
    return Probe.objects.create(
        component=component or Component.objects.first() or make_component(),
        url="http://127.0.0.1:1/health",
        regions=list(regions),
        **{**defaults, **fields},
    )


def report(client, agents, probe: Probe, region: str, ok: bool = True) -> None:
    """One result from a region's agent, through the agent API."""
    result = {
        "probe_id": probe.id,
        "checked_at": clock.now().isoformat(),
        "ok": ok,
        "latency_ms": 12,
        "error": "" if ok else "HTTP 503, expected 200",
    }
    response = client.post(
        "/api/agent/v1/results",
        data={"results": [result]},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {agents[region]}",
    )
    assert response.status_code == 200, response.content


def engine_pass(traveller, seconds: float = 0) -> None:
    """Time passes; the engine runs a cycle (so monitoring as a whole is alive) and sweeps."""
    traveller.shift(timedelta(seconds=seconds))
    run_due_probes()
    monitoring.forget()
    silence.sweep(clock.now())


def summary(client) -> dict:
    return client.get("/api/v2/summary.json").json()


def component_in(body: dict, component: Component) -> dict:
    [found] = [c for c in body["components"] if c["id"] == component.public_id]
    return found


# --- Silence makes the component "status unknown" ------------------------------------------


def test_after_an_hour_of_agent_silence_the_component_is_status_unknown_not_green(
    client, traveller, agents
):
    probe = regional_probe()
    engine_pass(traveller)
    report(client, agents, probe, "eu-west")
    report(client, agents, probe, "us-east")
    probe.refresh_from_db()
    assert probe.state == ProbeState.UP
    assert summary(client)["status"]["indicator"] == "none"

    engine_pass(traveller, 3600)  # the agents died an hour ago; the engine still beats

    body = summary(client)
    assert body["status"] == {
        "indicator": "minor",
        "description": "Status unknown: Follow app alerts is not being checked",
    }
    component = component_in(body, probe.component)
    assert component["status"] == "operational", "Statuspage's enum is kept for old clients"
    assert component["status_unknown"] is True


def test_a_probe_checked_within_two_intervals_is_not_silent(client, traveller, agents):
    probe = regional_probe()
    engine_pass(traveller)
    for _ in range(4):
        engine_pass(traveller, 30)
        report(client, agents, probe, "eu-west")
        report(client, agents, probe, "us-east")
    engine_pass(traveller, 59)
    assert summary(client)["status"]["indicator"] == "none"
    assert PAGES == []


def test_a_probe_never_checked_is_silent_two_intervals_after_it_was_created(client, traveller):
    probe = regional_probe()
    engine_pass(traveller)
    engine_pass(traveller, 60)
    assert component_in(summary(client), probe.component)["status_unknown"] is False
    engine_pass(traveller, 1)
    assert component_in(summary(client), probe.component)["status_unknown"] is True
    probe.refresh_from_db()
    assert probe.silent_since == NOW, "measured from its creation"


def test_a_probe_whose_claim_was_lost_is_silent(client, traveller):
    """An engine claimed it (next run moved on) and died before recording a result."""
    probe = make_probe(make_component(), "http://127.0.0.1:1/health", last_checked_at=NOW)
    engine_pass(traveller)
    Probe.objects.filter(id=probe.id).update(next_run_at=NOW + timedelta(days=1))
    engine_pass(traveller, 21)
    assert component_in(summary(client), probe.component)["status_unknown"] is True


def test_disabled_probes_are_never_silent(client, traveller):
    probe = regional_probe(enabled=False)
    engine_pass(traveller)
    engine_pass(traveller, 3600)
    assert component_in(summary(client), probe.component)["status_unknown"] is False
    assert PAGES == []


def test_a_component_under_maintenance_shows_maintenance_not_unknown(client, traveller):
    probe = regional_probe()
    window = maintenance.schedule(
        "Database upgrade",
        "We upgrade.",
        [probe.component],
        NOW,
        NOW + timedelta(hours=2),
        None,
        NOW,
    )
    maintenance_clock.start(window, NOW)
    engine_pass(traveller)
    engine_pass(traveller, 3600)
    body = summary(client)
    assert component_in(body, probe.component)["status"] == "under_maintenance"
    assert component_in(body, probe.component)["status_unknown"] is False
    assert PAGES == []


def test_a_heartbeat_is_judged_by_its_own_deadline_not_by_silence(client, traveller):
    probe = make_probe(make_component(), "", kind="heartbeat", interval_seconds=3600)
    engine_pass(traveller)
    engine_pass(traveller, 3 * 3600)
    probe.refresh_from_db()
    assert probe.silent_since is None and PAGES == []


def test_a_silent_component_does_not_hide_an_outage_elsewhere(client, traveller, agents):
    probe = regional_probe()
    down = make_component("Share upload", audience_slug="share-app")
    down.set_status(ComponentStatus.MAJOR_OUTAGE)
    engine_pass(traveller)
    engine_pass(traveller, 3600)
    body = summary(client)
    assert body["status"] == {"indicator": "critical", "description": "Major System Outage"}
    assert component_in(body, probe.component)["status_unknown"] is True


def test_several_silent_components_are_counted(client, traveller):
    regional_probe()
    other = make_component("Share upload", audience_slug="share-app")
    regional_probe(name="share api", component=other)
    engine_pass(traveller)
    engine_pass(traveller, 3600)
    assert summary(client)["status"] == {
        "indicator": "minor",
        "description": "Status unknown: 2 components are not being checked",
    }


def test_status_json_and_components_json_agree_with_the_summary(client, traveller):
    probe = regional_probe()
    engine_pass(traveller)
    engine_pass(traveller, 3600)
    status = client.get("/api/v2/status.json").json()["status"]
    assert status["indicator"] == "minor" and "Status unknown" in status["description"]
    listed = client.get("/api/v2/components.json").json()["components"]
    [group] = [c for c in listed if c["group"]]
    assert group["status"] == "operational" and group["status_unknown"] is True
    assert component_in({"components": listed}, probe.component)["status_unknown"] is True


def test_a_client_revalidating_by_date_gets_the_unknown_status_not_a_304(client, traveller):
    regional_probe()
    engine_pass(traveller)
    green = client.get("/api/v2/summary.json")
    assert green.json()["status"]["indicator"] == "none"
    engine_pass(traveller, 3600)
    again = client.get("/api/v2/summary.json", HTTP_IF_MODIFIED_SINCE=green["Last-Modified"])
    assert again.status_code == 200 and again.json()["status"]["indicator"] == "minor"


def test_the_page_says_whose_status_is_unknown(client, traveller):
    regional_probe()
    engine_pass(traveller)
    engine_pass(traveller, 3600)
    page = client.get("/").content.decode()
    assert 'id="components-unknown"' in page
    assert "We cannot currently check Follow app alerts (last confirmed check: 2026-11-27" in page
    assert 'class="component status-operational status-unknown"' in page
    assert '<span class="component-status">Status unknown</span>' in page
    assert "Check glucose with a meter." in page, "the backup plan, since we cannot vouch"
    assert "monitoring-interrupted" in page and 'id="monitoring-interrupted"' not in page


def test_the_page_says_it_in_spanish(client, traveller):
    regional_probe()
    engine_pass(traveller)
    engine_pass(traveller, 3600)
    page = client.get("/", HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert "Estado desconocido" in page
    assert "No podemos comprobar ahora Follow app alerts" in page


def test_the_page_is_quiet_while_probes_are_checked(client, traveller):
    make_probe(make_component(), "http://127.0.0.1:1/health")
    engine_pass(traveller)
    engine_pass(traveller, 10)
    assert "components-unknown" not in client.get("/").content.decode()


def test_banner_json_says_status_unknown_for_the_app_whose_component_is_silent(client, traveller):
    regional_probe()
    make_component("Share upload", audience_slug="share-app")
    engine_pass(traveller)
    engine_pass(traveller, 3600)
    banner = client.get("/api/v1/banner.json", {"audience": "follow-app"}).json()
    assert banner["show"] is True and banner["status"] == "unknown"
    assert banner["severity"] == "minor"
    assert banner["status_unknown"] is True and banner["monitoring_interrupted"] is False
    assert banner["title"] == "Status unknown: Follow app alerts is not being checked"
    assert "keep your backup plan at hand" in banner["text"]
    assert banner["advice"] == "Check glucose with a meter."
    other = client.get("/api/v1/banner.json", {"audience": "share-app"}).json()
    assert other["show"] is False and other["status_unknown"] is False


def test_banner_json_keeps_an_open_incident_first(client, traveller):
    from tests.factories import open_outage_at

    regional_probe()
    engine_pass(traveller)
    engine_pass(traveller, 3600)
    open_outage_at(clock.now())
    Incident.objects.update(published_at=clock.now())
    banner = client.get("/api/v1/banner.json").json()
    assert banner["status"] == "incident" and banner["status_unknown"] is True


def test_the_status_badge_of_a_silent_component_says_status_unknown(client, traveller):
    probe = regional_probe()
    engine_pass(traveller)
    engine_pass(traveller, 3600)
    svg = client.get(f"/badges/{probe.component.public_id}.svg").content.decode()
    assert "Follow app alerts: status unknown" in svg
    overall = client.get("/badge.svg").content.decode()
    assert "status: Status unknown: Follow app alerts is not being checked" in overall


def test_the_static_snapshot_says_status_unknown(client, traveller, tmp_path, settings):
    from statuspage.public import snapshot

    settings.STATUS_SNAPSHOT_DIR = str(tmp_path / "site")
    regional_probe()
    engine_pass(traveller)
    engine_pass(traveller, 3600)
    copy = snapshot.publish(now=clock.now())
    summary_copy = (copy / "api/v2/summary.json").read_text()
    assert '"status_unknown": true' in summary_copy
    assert "Status unknown: Follow app alerts is not being checked" in summary_copy
    assert '"status": "unknown"' in (copy / "api/v1/banner.json").read_text()
    assert "components-unknown" in (copy / "index.html").read_text()


def test_a_silent_probe_changes_what_the_snapshot_publisher_sees():
    from statuspage.public import snapshot

    probe = regional_probe()
    before = snapshot.fingerprint()
    Probe.objects.filter(id=probe.id).update(silent_since=NOW)
    assert snapshot.fingerprint() != before


def test_public_reads_cost_no_extra_query_per_silent_component(
    client, traveller, django_assert_num_queries
):
    regional_probe()
    engine_pass(traveller)
    engine_pass(traveller, 3600)

    def public_reads() -> int:
        monitoring.forget()
        changes.bump()  # each read renders: this counts a render's queries, not the store's
        with CaptureQueriesContext(connection) as queries:
            for path in ("/api/v2/summary.json", "/", f"/badges/{component.public_id}.svg"):
                assert client.get(path).status_code == 200
        return len(queries)

    component = Component.objects.get()
    public_reads()  # warm the per-minute caches (response times, uptime bars)
    one_silent = public_reads()
    for n in range(10):
        regional_probe(name=f"extra {n}", component=make_component(f"Extra {n}"))
    Probe.objects.update(silent_since=NOW)
    with django_assert_num_queries(one_silent):
        assert public_reads() == one_silent


# --- Paging once ----------------------------------------------------------------------------


def test_a_silent_probe_pages_oncall_once_and_once_more_when_checked_again(
    client, traveller, agents, pager
):
    probe = regional_probe()
    engine_pass(traveller)
    engine_pass(traveller, 61)
    engine_pass(traveller, 30)
    housekeeping(clock.now())  # the sweep is one of the engine's housekeeping jobs
    [(state, _)] = pager
    assert state.interrupted and state.probe.id == probe.id and state.since == NOW

    report(client, agents, probe, "eu-west")
    engine_pass(traveller, 1)
    engine_pass(traveller, 1)
    assert [s.interrupted for s, _ in pager] == [True, False]
    assert pager[1][0].checked_at == NOW + timedelta(seconds=91)
    assert component_in(summary(client), probe.component)["status_unknown"] is False


def test_two_sweepers_that_read_the_same_silence_page_once(traveller, pager):
    """Several engines or web processes may sweep at once: the conditional UPDATE decides."""
    probe = regional_probe()
    engine_pass(traveller)
    engine_pass(traveller, 61)
    assert len(pager) == 1
    stale_read = Probe.objects.get(id=probe.id)
    stale_read.silent_since = None
    assert silence.claim(stale_read, NOW) is False


def test_a_sweeper_that_read_before_a_result_arrived_pages_nobody(client, traveller, agents):
    probe = regional_probe()
    engine_pass(traveller)
    traveller.shift(timedelta(seconds=61))
    read_before = Probe.objects.get(id=probe.id)
    report(client, agents, probe, "eu-west")
    assert silence.claim(read_before, NOW) is False


def test_a_just_started_sweeper_gives_every_probe_two_intervals(traveller, pager):
    """An engine back after an hour off must not page for every probe it has not checked
    yet: it checks them first."""
    regional_probe()
    traveller.shift(timedelta(hours=1))
    engine_pass(traveller)
    engine_pass(traveller, 60)
    assert pager == []
    engine_pass(traveller, 1)
    assert len(pager) == 1


def test_no_probe_is_paged_while_the_whole_site_is_interrupted(traveller, pager):
    regional_probe()
    engine_pass(traveller)
    traveller.shift(timedelta(hours=1))
    monitoring.forget()
    silence.sweep(clock.now())  # no engine cycle: the whole-site alarm covers it
    assert [type(state).__name__ for state, _ in pager] == ["MonitoringState"]


def test_a_disabled_silent_probe_closes_its_alert_without_saying_it_was_checked(traveller, pager):
    probe = regional_probe()
    engine_pass(traveller)
    engine_pass(traveller, 61)
    Probe.objects.filter(id=probe.id).update(enabled=False)
    engine_pass(traveller, 1)
    assert [(s.interrupted, s.checked_at) for s, _ in pager] == [(True, None), (False, None)]


def test_staff_alerts_name_the_silent_probe(traveller):
    regional_probe()
    engine_pass(traveller)
    engine_pass(traveller, 3600)
    [alert] = [a for a in alerts.staff_alerts() if a.kind == "probe_silent"]
    assert alert.since == NOW
    assert alert.message.startswith(
        "Not checked: Follow app alerts (follow api) has had no result since 2026-11-27 01:00:00"
    )


# --- On-call staff are paged through the outbox -----------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_oncall_get_one_sms_and_email_when_a_probe_goes_silent_and_when_it_is_back(
    client, settings, traveller, agents, sandbox, task_queue
):
    from incidents.models import OnCallContact
    from tests.statuspage.test_watchdog_paging import deliver, received

    settings.ENGINE = {
        **settings.ENGINE,
        "ONCALL_PAGERS": [
            "statuspage.picture.monitoring.log_page",
            "incidents.response.interruptions.page",
        ],
    }
    settings.STATUSPAGE = {**settings.STATUSPAGE, "URL": "http://127.0.0.1:9", "NAME": "Acme"}
    settings.TWILIO = {**settings.TWILIO, "SMS_PER_SECOND": 1000.0}
    OnCallContact.objects.create(name="Ada", phone="+14155550199", email="ada@example.org")
    probe = regional_probe()
    engine_pass(traveller)
    engine_pass(traveller, 61)
    deliver(task_queue, clock.now())
    engine_pass(traveller, 5)
    report(client, agents, probe, "us-east")
    engine_pass(traveller, 1)
    deliver(task_queue, clock.now())

    record = Incident.objects.get(origin_probe=probe)
    assert record.kind == Incident.Kind.MONITORING and record.published_at is None
    assert record.status == IncidentStatus.RESOLVED
    assert record.name == "Not checked: Follow app alerts (follow api)"
    kinds = list(IncidentUpdate.everything.filter(incident=record).values_list("kind", flat=True))
    assert sorted(kinds) == ["monitoring_interrupted", "monitoring_restored"]
    texts = received(sandbox)
    silent, back = sorted(texts["+14155550199"], key=lambda t: "Checked again" in t)
    assert silent.startswith(
        "Acme: Not checked: Follow app alerts (follow api) has had no result since "
        "2026-11-27 01:00 UTC"
    )
    assert back.startswith("Acme: Checked again at 2026-11-27 01:01 UTC: Follow app alerts")
    subjects = sorted(m.splitlines()[0] for m in texts["ada@example.org"])
    assert subjects == [
        "Follow app alerts heard from again (silent since 01:00 UTC)",
        "Not checked since 01:00 UTC: Follow app alerts status unknown",
    ]


def test_the_whole_sites_restored_message_leaves_a_probes_silence_open(traveller):
    from incidents.response import interruptions

    probe = regional_probe()
    engine_pass(traveller)
    interruptions.page(silence.ProbeSilence(probe, True, NOW), NOW)
    assert interruptions.restored(NOW) is None
    assert Incident.objects.get(origin_probe=probe).status == IncidentStatus.INVESTIGATING


# --- Quorum counts live regions ------------------------------------------------------------


def test_two_of_three_live_regions_both_down_confirm_an_outage(client, traveller, agents):
    probe = regional_probe(REGIONS)
    engine_pass(traveller)
    for region in REGIONS:
        report(client, agents, probe, region)
    engine_pass(traveller, 90)  # ap-south's agent has been gone since
    for _ in range(2):
        report(client, agents, probe, "eu-west", ok=False)
        report(client, agents, probe, "us-east", ok=False)
        engine_pass(traveller, 30)
    probe.refresh_from_db()
    assert probe.state == ProbeState.DOWN
    assert Incident.objects.incidents().filter(origin_probe=probe).exists()


def test_one_live_region_of_two_confirms_an_outage_by_itself(client, traveller, agents):
    """A majority of the regions that still report, not of those configured."""
    probe = regional_probe()
    engine_pass(traveller)
    report(client, agents, probe, "eu-west")
    report(client, agents, probe, "us-east")
    engine_pass(traveller, 61)
    report(client, agents, probe, "eu-west", ok=False)
    engine_pass(traveller, 30)
    report(client, agents, probe, "eu-west", ok=False)
    probe.refresh_from_db()
    assert probe.state == ProbeState.DOWN


def test_a_dead_regions_last_vote_does_not_hold_an_outage_open(client, traveller, agents):
    probe = regional_probe(quorum=1)
    engine_pass(traveller)
    for _ in range(2):
        report(client, agents, probe, "us-east", ok=False)
        report(client, agents, probe, "eu-west")
    probe.refresh_from_db()
    assert probe.state == ProbeState.DOWN, "a quorum of one trusts us-east"
    engine_pass(traveller, 61)  # us-east's agent stops with its last vote 'down'
    report(client, agents, probe, "eu-west")
    probe.refresh_from_db()
    assert probe.state == ProbeState.UP


def test_a_region_that_stopped_reporting_is_named_to_staff(client, traveller, agents):
    probe = regional_probe()
    engine_pass(traveller)
    report(client, agents, probe, "eu-west")
    report(client, agents, probe, "us-east")
    traveller.shift(timedelta(seconds=40))
    report(client, agents, probe, "eu-west")
    assert [a for a in alerts.staff_alerts() if a.kind == "region_silent"] == []
    traveller.shift(timedelta(seconds=30))
    report(client, agents, probe, "eu-west")
    [alert] = [a for a in alerts.staff_alerts() if a.kind == "region_silent"]
    assert alert.since == NOW and alert.probe_id == probe.id
    assert alert.message.startswith(
        "Region us-east stopped reporting for Follow app alerts (follow api): "
        "no result since 2026-11-27 01:00:00"
    )
    assert component_in(summary(client), probe.component)["status_unknown"] is False


def test_a_region_that_never_reported_is_named_once_the_probe_is_two_intervals_old(
    client, traveller, agents
):
    regional_probe()
    engine_pass(traveller, 61)
    [alert] = [a for a in alerts.staff_alerts() if a.kind == "region_silent"][:1]
    assert "has never reported" in alert.message


# --- Two real processes ---------------------------------------------------------------------

SWEEPER = """
import os, sys, time
import django
django.setup()
from statuspage import clock
from statuspage.models import Probe
from statuspage.picture import silence
now = clock.now()
probe = Probe.objects.select_related("component").get(id=int(sys.argv[3]))
since = probe.silence_start(now)
open(sys.argv[2], "w").close()
while not os.path.exists(sys.argv[1]):
    time.sleep(0.005)
# What sweep does with each overdue probe it read: claim, and page if the claim won.
if since is not None and silence.claim(probe, since):
    silence.page(silence.ProbeSilence(probe, True, since), now)
"""


def database_url() -> str:
    config = connection.settings_dict
    if config["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{config['NAME']}"
    return (
        f"postgres://{config['USER']}@{config['HOST'] or '127.0.0.1'}:{config['PORT'] or 5432}"
        f"/{config['NAME']}"
    )


@pytest.mark.django_db(transaction=True)
def test_engines_that_read_the_same_silent_probe_at_once_page_once(tmp_path, settings):
    """Four real processes read the silent probe, then all claim it at the same moment."""
    import os
    import subprocess
    import sys

    settings.ENGINE = {
        **settings.ENGINE,
        "ONCALL_PAGERS": ["incidents.response.interruptions.page"],
    }
    probe = regional_probe(created_at=clock.now() - timedelta(hours=1))
    run_due_probes()  # an engine is alive: the whole site is not interrupted
    go = tmp_path / "go"
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "REDIS_URL": "",
    }
    ready = [tmp_path / f"ready-{n}" for n in range(4)]
    sweepers = [
        subprocess.Popen(
            [sys.executable, "-c", SWEEPER, str(go), str(mark), str(probe.id)],
            cwd=settings.BASE_DIR,
            env=env,
        )
        for mark in ready
    ]
    deadline = time.monotonic() + 60
    while not all(mark.exists() for mark in ready) and time.monotonic() < deadline:
        time.sleep(0.05)  # each has loaded Django and waits at the line
    go.touch()
    assert [p.wait(timeout=60) for p in sweepers] == [0, 0, 0, 0]
    assert Incident.objects.filter(origin_probe=probe).count() == 1
    assert IncidentUpdate.everything.filter(incident__origin_probe=probe).count() == 1
