"""Upstream status feeds read by their structure: each product's items say their current
status in a place of their own (Statuspage's first bold update, incident.io's "Status:",
Google Cloud's title prefix, AWS's category); words such as "not operational" or
"scheduled fix" anywhere else never read as an all-clear. The fixtures in feeds/ are
written in the shape each product publishes."""

from datetime import timedelta
from pathlib import Path

import pytest
import time_machine

from statuspage.checks.feeds import Phase, active_report, items
from statuspage.checks.upstream import UpstreamCheck
from statuspage.probes.engine import run_checks_blocking
from tests.clock import NOW
from tests.statuspage.servers import Answer

FEEDS = Path(__file__).parent / "feeds"
WINDOW = timedelta(hours=6)


def feed(name: str) -> str:
    return (FEEDS / name).read_text()


@pytest.mark.parametrize(
    "name, report",
    [
        ("statuspage_active.rss", "SMS delivery to US carriers not operational"),
        ("incidentio.rss", "Scheduled fix for delayed notifications"),
        ("instatus.rss", "Tiles API not operational in eu-west"),
        ("statusio.rss", "Card authorisations failing"),
        ("gcp.atom", "UPDATE: Cloud Pub/Sub: elevated publish latency in us-east1"),
        ("aws.rss", "Service disruption: Push notifications not delivered"),
    ],
)
def test_an_open_incident_is_reported_whatever_words_it_uses(name, report):
    assert active_report(feed(name), WINDOW, NOW) == report


@pytest.mark.parametrize("name", ["statuspage_resolved.atom", "betterstack.rss"])
def test_a_resolved_incident_is_an_all_clear_even_when_it_names_an_outage(name):
    assert active_report(feed(name), WINDOW, NOW) == ""


def test_statuspage_reads_the_newest_update_and_a_scheduled_maintenance_is_not_an_outage():
    phases = {item.title: item.phase for item in items(feed("statuspage_active.rss"))}
    assert phases == {
        "SMS delivery to US carriers not operational": Phase.ACTIVE,
        "Scheduled database maintenance": Phase.PLANNED,
    }


def test_google_clouds_resolved_entry_is_closed_beside_an_open_one():
    phases = [item.phase for item in items(feed("gcp.atom"))]
    assert phases == [Phase.ACTIVE, Phase.CLOSED]


def test_an_open_incident_older_than_the_window_is_not_reported():
    assert active_report(feed("instatus.rss"), WINDOW, NOW + timedelta(hours=7)) == ""


def test_the_upstream_probe_reads_a_statuspage_feed_over_http(web):
    web.routes["/history.rss"] = Answer(200, feed("statuspage_active.rss"))
    with time_machine.travel(NOW, tick=False):
        [outcome] = run_checks_blocking(
            [UpstreamCheck(1, "Acme SMS", f"{web.url}/history.rss", window_minutes=360)]
        )
    assert not outcome.ok
    assert outcome.error == "upstream: Acme SMS reports SMS delivery to US carriers not operational"
