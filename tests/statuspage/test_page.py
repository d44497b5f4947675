"""The public page, incident permalinks and history through Django's client: what is shown,
and that the number of queries does not grow with components or incidents."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
import time_machine
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from statuspage.models import CheckResult, Component, Probe, ResultRollup
from statuspage.picture import monitoring
from statuspage.picture.uptime import rollup
from statuspage.probes import rollups
from statuspage.public import page
from tests.clock import NOW
from tests.factories import make_component, make_probe, open_outage_at, resolve_at

pytestmark = pytest.mark.django_db


def get(client, path, **extra):
    with time_machine.travel(NOW + timedelta(hours=1), tick=False):
        return client.get(path, **extra)


def queries(client, path) -> int:
    """Queries of a cold render (nothing cached, the engine-liveness read included) while the
    engine is alive: the worst case."""
    monitoring.record_cycle(NOW + timedelta(hours=1))
    monitoring.forget()
    cache.clear()
    with CaptureQueriesContext(connection) as context:
        assert get(client, path).status_code == 200
    return len(context.captured_queries)


def add_load(n: int) -> None:
    for i in range(n):
        component = make_component(f"Load {n}-{i}", audience_slug=None)
        probe = make_probe(component, "http://127.0.0.1:1/")
        CheckResult.objects.create(probe=probe, checked_at=NOW, ok=True, latency_ms=50)
        resolve_at(
            open_outage_at(NOW - timedelta(days=1, hours=i), name=component.name),
            NOW - timedelta(days=1, hours=i) + timedelta(minutes=30),
        )
    open_outage_at(NOW, name=f"Load {n}-0")


@pytest.mark.parametrize("path", ["/", "/history"])
def test_page_queries_do_not_grow_with_components_or_incidents(client, path):
    add_load(2)
    few = queries(client, path)
    add_load(6)
    assert queries(client, path) == few
    assert few <= 14  # the snapshot, uptime (2), charts, last checks, recent, maintenance, liveness


def test_incident_page_queries_do_not_grow_with_updates(client):
    incident = open_outage_at(NOW)
    path = f"/incidents/{incident.public_id}"
    before = queries(client, path)
    resolve_at(incident, NOW + timedelta(minutes=30))
    assert queries(client, path) == before


def test_every_component_has_ninety_daily_bars_with_a_tooltip(client):
    with time_machine.travel(NOW - timedelta(days=2), tick=False):
        make_component()
        make_component("Share upload", audience_slug=None)
    rollup((NOW - timedelta(days=2)).date(), NOW.date(), NOW + timedelta(hours=1))
    html = get(client, "/").content.decode()
    lists = re.findall(r'<ol class="uptime-bars".*?</ol>', html, re.S)
    assert len(lists) == 2
    for bars in lists:
        assert bars.count('<li class="bar') == 90
    assert 'aria-label="Nov. 27, 2026 · 100.00% uptime"' in html


def test_a_red_day_names_its_incident_and_takes_keyboard_focus(client):
    with time_machine.travel(NOW - timedelta(days=3), tick=False):
        make_component()
    incident = resolve_at(open_outage_at(NOW - timedelta(hours=20)), NOW - timedelta(hours=18))
    rollup((NOW - timedelta(days=1)).date(), NOW.date(), NOW + timedelta(hours=1))
    html = get(client, "/").content.decode()
    [red] = re.findall(r'<li class="bar day-major_outage"[^>]*>', html)
    assert 'tabindex="0"' in red
    assert f"Nov. 26, 2026 · 91.67% uptime · {incident.name}" in red


def test_advice_shows_while_a_component_is_down_and_hides_when_it_recovers(client):
    incident = open_outage_at(NOW)
    html = get(client, "/").content.decode()
    assert (
        '<p class="advice"><strong>What to do now (Follow app alerts):</strong> Check glucose'
        in html
    )
    assert '<p class="advice"><strong>What to do now:</strong> Check glucose with a meter.' in html
    resolve_at(incident, NOW + timedelta(minutes=5))
    assert "Check glucose with a meter." not in get(client, "/").content.decode()


def test_hidden_and_only_if_degraded_components_stay_off_the_page(client):
    make_component()
    Component.objects.create(name="Internal queue", showcase=False)
    quiet = Component.objects.create(name="Legacy SMS", only_show_if_degraded=True)
    html = get(client, "/").content.decode()
    assert "Internal queue" not in html and "Legacy SMS" not in html
    quiet.set_status("partial_outage")
    assert "Legacy SMS" in get(client, "/").content.decode()


def rolled_up_results(results: list[tuple[datetime, float]]) -> Probe:
    """Check results rolled up as the engine's housekeeping does an hour after NOW, and the
    raw rows then gone (as after retention), so only rollups can show them."""
    probe = make_probe(make_component(), "http://127.0.0.1:1/")
    for at, latency in results:
        CheckResult.objects.create(probe=probe, checked_at=at, ok=True, latency_ms=latency)
    rollups.roll_up(NOW + timedelta(hours=1))
    CheckResult.objects.all().delete()
    return probe


def test_response_time_chart_reads_rollups_in_one_query_with_the_right_figures(client):
    # 00:xx is rolled up into an hour by 02:00; 01:xx only into minutes so far.
    probe = rolled_up_results(
        [(NOW - timedelta(hours=1), 100), (NOW - timedelta(minutes=50), 200), (NOW, 400)]
    )
    assert set(ResultRollup.objects.values_list("period", flat=True)) == {"minute", "hour"}
    with CaptureQueriesContext(connection) as context:
        charts = page.compute_latency_charts(NOW + timedelta(hours=1))
    [query] = context.captured_queries
    assert "check_result" not in query["sql"].lower() and "checkresult" not in query["sql"].lower()
    chart = charts[probe.component_id]
    assert (chart.average_ms, chart.peak_ms) == (275, 400)
    assert chart.points == "219.1,24.5 229.6,2.0", "00:00 and 01:00, hours 22 and 23 of 24"
    probe.last_checked_at = NOW
    probe.save()
    html = get(client, "/").content.decode()
    assert "Response time, last 24 hours: 275 ms on average, 400 ms at worst" in html
    assert f'<polyline points="{chart.points}"' in html
    assert 'Last checked <time datetime="2026-11-27T01:00:00+00:00" data-relative>' in html


def test_an_hour_already_rolled_up_is_not_counted_twice_with_its_minutes():
    probe = rolled_up_results(
        [(NOW + timedelta(minutes=10), 100), (NOW + timedelta(minutes=20), 300)]
    )
    rollups.roll_up(NOW + timedelta(hours=1, minutes=5))  # the hour 01:00 is rolled up now
    assert ResultRollup.objects.filter(period="hour", start=NOW).exists()
    chart = page.compute_latency_charts(NOW + timedelta(hours=1, minutes=5))[probe.component_id]
    assert (chart.average_ms, chart.peak_ms) == (200, 200)


def test_recently_resolved_incidents_are_listed_with_permalinks(client):
    incident = resolve_at(open_outage_at(NOW - timedelta(days=2)), NOW - timedelta(days=1))
    html = get(client, "/").content.decode()
    assert f'href="/incidents/{incident.public_id}"' in html
    assert "Past incidents" in html


def test_history_lists_months_with_quiet_ones_and_permalinks(client):
    september = resolve_at(open_outage_at(NOW - timedelta(days=70)), NOW - timedelta(days=69))
    html = get(client, "/history").content.decode()
    months = re.findall(r'<h2 id="month-[\d-]+">([^<]+)</h2>', html)
    assert months == ["November 2026", "October 2026", "September 2026"]
    assert "No incidents reported this month." in html
    assert f'href="/incidents/{september.public_id}"' in html
    assert 'href="/history?before=2026-08"' in html


def test_history_pages_back_and_rejects_a_bad_month_clearly(client):
    older = resolve_at(open_outage_at(NOW - timedelta(days=150)), NOW - timedelta(days=149))
    assert older.public_id not in get(client, "/history").content.decode()
    assert older.public_id in get(client, "/history?before=2026-08").content.decode()
    bad = get(client, "/history?before=last-week")
    assert bad.status_code == 400
    assert "YYYY-MM" in bad.content.decode()


def test_incident_page_shows_duration_and_full_timeline(client):
    incident = resolve_at(open_outage_at(NOW), NOW + timedelta(minutes=45))
    html = get(client, f"/incidents/{incident.public_id}").content.decode()
    assert "lasted 45\xa0minutes" in html
    assert html.count('<li class="update') == 2


def test_open_incidents_say_when_the_next_update_comes(client):
    incident = open_outage_at(NOW)
    update = incident.updates.get()
    update.next_update_by = NOW + timedelta(minutes=30)
    update.save()
    expected = (
        '<strong>Next update by</strong> <time datetime="2026-11-27T01:30:00+00:00" data-local>'
    )
    assert expected in get(client, "/").content.decode()
    assert expected in get(client, f"/incidents/{incident.public_id}").content.decode()
    resolve_at(incident, NOW + timedelta(minutes=10))
    assert (
        'class="next-update"'
        not in get(client, f"/incidents/{incident.public_id}").content.decode()
    )
