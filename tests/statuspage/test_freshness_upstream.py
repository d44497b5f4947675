"""Freshness/backlog numbers against thresholds (pulled and pushed), and upstream providers'
status from their Statuspage JSON and RSS/Atom feeds, all served on loopback."""

from datetime import datetime, timedelta

import pytest
import time_machine

from incidents.models import Incident
from statuspage.checks.freshness import FreshnessCheck
from statuspage.checks.upstream import UpstreamCheck
from statuspage.models import CheckResult, Probe, ProbeState
from statuspage.probes.engine import run_checks_blocking, run_due_probes
from tests.clock import NOW
from tests.factories import make_component
from tests.statuspage.servers import Answer


def run(check):
    [outcome] = run_checks_blocking([check])
    return outcome


def freshness(web, value):
    web.routes["/lag"] = Answer(200, {"pipeline": {"data_age_seconds": value}})
    return run(
        FreshnessCheck(
            1, f"{web.url}/lag", "$.pipeline.data_age_seconds", degraded_above=300, outage_above=900
        )
    )


def test_fresh_data_passes(web):
    assert freshness(web, 42).ok


def test_stale_data_past_the_degraded_threshold_is_degraded(web):
    outcome = freshness(web, 600)
    assert not outcome.ok and outcome.status == "degraded_performance"
    assert outcome.error == "$.pipeline.data_age_seconds is 600, above the degraded threshold 300"


def test_data_past_the_outage_threshold_is_an_outage(web):
    outcome = freshness(web, 1800)
    assert not outcome.ok and outcome.status == ""
    assert outcome.error == "$.pipeline.data_age_seconds is 1800, above the outage threshold 900"


def test_a_missing_or_non_numeric_value_is_a_failure(web):
    assert freshness(web, "n/a").error == '$.pipeline.data_age_seconds is "n/a", not a number'
    web.routes["/lag"] = Answer(200, {"pipeline": {}})
    outcome = run(FreshnessCheck(1, f"{web.url}/lag", "$.pipeline.data_age_seconds", None, 900))
    assert outcome.error == "$.pipeline.data_age_seconds is missing from the response."


@pytest.mark.django_db
def test_backlog_pushed_in_a_heartbeat_payload_is_judged(client):
    with time_machine.travel(NOW, tick=False):
        probe = Probe.objects.create(
            component=make_component(),
            name="upload queue",
            kind="heartbeat",
            interval_seconds=60,
            value_path="$.queue.depth",
            degraded_above=1000,
            outage_above=10000,
        )
        client.post(
            f"/ping/{probe.ping_key}",
            data={"queue": {"depth": 250}},
            content_type="application/json",
        )
        probe.refresh_from_db()
        assert probe.state == ProbeState.UP
        client.post(
            f"/ping/{probe.ping_key}",
            data={"queue": {"depth": 25000}},
            content_type="application/json",
        )
        probe.refresh_from_db()
        probe.component.refresh_from_db()
    assert probe.state == ProbeState.DOWN and probe.component.status == "major_outage"
    assert CheckResult.objects.filter(ok=False).get().error == (
        "$.queue.depth is 25000, above the outage threshold 10000"
    )


@pytest.mark.django_db
def test_freshness_probe_needs_a_threshold():
    from django.core.exceptions import ValidationError

    probe = Probe(
        component=make_component(),
        name="lag",
        kind="freshness",
        url="http://127.0.0.1:1/lag",
        value_path="$.age",
    )
    with pytest.raises(ValidationError) as error:
        probe.full_clean()
    assert "outage_above" in error.value.message_dict


STATUSPAGE_INCIDENT = {
    "page": {"id": "abc", "name": "SMS Provider", "url": "https://status.example"},
    "status": {"indicator": "major", "description": "Partial System Outage"},
    "components": [],
    "incidents": [{"name": "Delayed SMS delivery to US carriers", "status": "identified"}],
    "scheduled_maintenances": [],
}
STATUSPAGE_OK = {
    "page": {"id": "abc"},
    "status": {"indicator": "none", "description": "All Systems Operational"},
}


def rss(title: str, when: datetime, summary: str = "") -> str:
    stamp = when.strftime("%a, %d %b %Y %H:%M:%S +0000")
    return f"""<?xml version="1.0"?><rss version="2.0"><channel><title>Cloud status</title>
    <item><title>{title}</title><description>{summary}</description><pubDate>{stamp}</pubDate></item>
    </channel></rss>"""


def atom(title: str, when: datetime) -> str:
    return f"""<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">
    <title>Push provider</title><entry><title>{title}</title><id>1</id>
    <updated>{when.isoformat()}</updated></entry></feed>"""


def upstream(web, body) -> object:
    web.routes["/status"] = Answer(200, body)
    with time_machine.travel(NOW, tick=False):
        return run(UpstreamCheck(1, "SMS Provider", f"{web.url}/status", window_minutes=360))


def test_statuspage_json_incident_marks_the_dependency_degraded(web):
    outcome = upstream(web, STATUSPAGE_INCIDENT)
    assert not outcome.ok and outcome.status == "degraded_performance"
    assert outcome.error == (
        "upstream: SMS Provider reports Partial System Outage: Delayed SMS delivery to US carriers"
    )


def test_statuspage_json_all_clear_passes(web):
    assert upstream(web, STATUSPAGE_OK).ok


def test_recent_rss_incident_entry_is_active(web):
    outcome = upstream(
        web, rss("Elevated <b>error rates</b> in eu-west", NOW - timedelta(minutes=20))
    )
    assert outcome.error == "upstream: SMS Provider reports Elevated error rates in eu-west"


def test_resolved_or_old_feed_entries_are_not_active(web):
    assert upstream(web, rss("Resolved: elevated error rates", NOW - timedelta(minutes=5))).ok
    assert upstream(web, rss("Elevated error rates", NOW - timedelta(days=2))).ok


def test_atom_feeds_are_read_too(web):
    assert upstream(web, atom("Push notifications delayed", NOW - timedelta(minutes=3))).error == (
        "upstream: SMS Provider reports Push notifications delayed"
    )


def test_an_unreachable_upstream_status_page_is_not_their_outage(web):
    web.routes["/status"] = Answer(503, "down")
    outcome = run(UpstreamCheck(1, "SMS Provider", f"{web.url}/status"))
    assert outcome.ok and outcome.warning == "cannot read SMS Provider's status: HTTP 503"


@pytest.mark.django_db(transaction=True)
def test_upstream_incident_opens_a_minor_incident_that_names_the_provider(web):
    web.routes["/status"] = Answer(200, STATUSPAGE_INCIDENT)
    Probe.objects.create(
        component=make_component("SMS alerts"),
        name="SMS Provider",
        kind="upstream",
        url=f"{web.url}/status",
        interval_seconds=60,
        failures_to_confirm=1,
    )
    run_due_probes()
    incident = Incident.objects.get()
    assert incident.impact == "minor"
    opened = incident.updates.get()
    assert (
        "Upstream: SMS Provider reports Partial System Outage: Delayed SMS delivery" in opened.body
    )
    assert incident.components.get().status == "degraded_performance"
