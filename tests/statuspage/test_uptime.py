"""Uptime history: every status change is logged, rolled up per component and day (worst
status, uptime from outage time, incidents), and read back as 90 bars per component."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
import time_machine

from statuspage.models import ComponentDay, ComponentStatusChange
from statuspage.picture.uptime import DAYS_SHOWN, Refresher, rollup, uptime_views
from tests.clock import NOW
from tests.factories import make_component, open_outage_at, resolve_at

pytestmark = pytest.mark.django_db

MIDNIGHT = NOW.replace(hour=0) - timedelta(days=7)  # UTC, a week before NOW
DAY = MIDNIGHT.date()


def component_since(moment: datetime, name: str = "Follow app alerts"):
    with time_machine.travel(moment, tick=False):
        return make_component(name)


def status_at(component, moment: datetime, status: str) -> None:
    with time_machine.travel(moment, tick=False):
        component.set_status(status)


def row(component, day: date) -> ComponentDay:
    return ComponentDay.objects.get(component=component, day=day)


def test_set_status_logs_each_change_with_the_clock_time():
    component = component_since(MIDNIGHT)
    status_at(component, MIDNIGHT + timedelta(hours=3), "major_outage")
    status_at(component, MIDNIGHT + timedelta(hours=4), "major_outage")
    [change] = ComponentStatusChange.objects.all()
    assert (change.old_status, change.new_status) == ("operational", "major_outage")
    assert change.changed_at == MIDNIGHT + timedelta(hours=3)


def test_two_hours_of_major_outage_colour_the_day_red_and_cost_two_hours_of_uptime():
    component = component_since(MIDNIGHT - timedelta(days=1))
    status_at(component, MIDNIGHT + timedelta(hours=10), "major_outage")
    status_at(component, MIDNIGHT + timedelta(hours=12), "operational")
    rollup(DAY - timedelta(days=1), DAY + timedelta(days=1), MIDNIGHT + timedelta(days=2))
    red = row(component, DAY)
    assert red.worst_status == "major_outage"
    assert red.uptime == pytest.approx(100 * 22 / 24)
    assert row(component, DAY - timedelta(days=1)).uptime == 100
    assert row(component, DAY + timedelta(days=1)).worst_status == "operational"


def test_partial_outage_counts_as_thirty_percent_down_and_maintenance_as_up():
    component = component_since(MIDNIGHT - timedelta(days=1))
    status_at(component, MIDNIGHT, "partial_outage")
    status_at(component, MIDNIGHT + timedelta(hours=10), "under_maintenance")
    status_at(component, MIDNIGHT + timedelta(hours=20), "operational")
    rollup(DAY, DAY, MIDNIGHT + timedelta(days=1))
    day = row(component, DAY)
    assert day.worst_status == "partial_outage"
    assert day.down_seconds == pytest.approx(0.3 * 10 * 3600)


def test_an_outage_spanning_midnight_marks_both_days():
    component = component_since(MIDNIGHT - timedelta(days=2))
    status_at(component, MIDNIGHT - timedelta(hours=1), "major_outage")
    status_at(component, MIDNIGHT + timedelta(hours=1), "operational")
    rollup(DAY - timedelta(days=1), DAY, MIDNIGHT + timedelta(days=1))
    assert row(component, DAY - timedelta(days=1)).uptime == pytest.approx(100 * 23 / 24)
    assert row(component, DAY).uptime == pytest.approx(100 * 23 / 24)


def test_days_before_a_component_existed_have_no_bar_and_today_counts_only_up_to_now():
    component = component_since(MIDNIGHT + timedelta(hours=12))
    status_at(component, MIDNIGHT + timedelta(hours=13), "major_outage")
    rollup(DAY - timedelta(days=1), DAY, MIDNIGHT + timedelta(hours=14))
    assert not ComponentDay.objects.filter(day=DAY - timedelta(days=1)).exists()
    today = row(component, DAY)
    assert today.observed_seconds == 2 * 3600
    assert today.uptime == pytest.approx(50)


def test_incidents_are_listed_on_every_day_they_touched():
    component_since(MIDNIGHT - timedelta(days=5))
    incident = open_outage_at(MIDNIGHT - timedelta(hours=2))
    resolve_at(incident, MIDNIGHT + timedelta(hours=3))
    component = incident.components.get()
    rollup(DAY - timedelta(days=1), DAY + timedelta(days=1), MIDNIGHT + timedelta(days=2))
    expected = [{"id": incident.public_id, "name": incident.name}]
    assert row(component, DAY - timedelta(days=1)).incidents == expected
    assert row(component, DAY).incidents == expected
    assert row(component, DAY + timedelta(days=1)).incidents == []


def test_the_housekeeping_job_backfills_once_then_refreshes_at_most_every_30_seconds():
    component = component_since(MIDNIGHT - timedelta(days=200))
    refresh = Refresher()
    now = MIDNIGHT + timedelta(hours=6)
    assert refresh(now) == DAYS_SHOWN
    status_at(component, now + timedelta(seconds=1), "major_outage")
    assert refresh(now + timedelta(seconds=10)) == 0, "throttled"
    assert refresh(now + timedelta(seconds=40)) == 1, "only today is recomputed"
    assert row(component, DAY).worst_status == "major_outage"


def test_the_page_reads_ninety_bars_per_component_today_never_greener_than_now(
    django_assert_num_queries,
):
    component = component_since(MIDNIGHT - timedelta(days=10))
    rollup(DAY - timedelta(days=10), DAY, MIDNIGHT + timedelta(hours=1))
    status_at(component, MIDNIGHT + timedelta(hours=2), "partial_outage")
    component.refresh_from_db()
    with django_assert_num_queries(2):  # the sums per component, and the days with news
        view = uptime_views([component], MIDNIGHT + timedelta(hours=3))[component.id]
    assert len(view.bars) == DAYS_SHOWN
    assert view.bars[-1].day == DAY and view.bars[-1].status == "partial_outage"
    assert view.bars[0].status is None, "no data before the component existed"
    assert view.bars[-2].uptime == 100
