"""Maintenance windows from the incidents app reach the Statuspage v2 endpoints."""

from datetime import timedelta

import pytest
import time_machine

from incidents.response import maintenance
from tests.clock import NOW
from tests.factories import make_component

pytestmark = pytest.mark.django_db


@pytest.fixture
def window():
    with time_machine.travel(NOW, tick=False):
        return maintenance.schedule(
            "Database upgrade",
            "",
            [make_component()],
            NOW + timedelta(hours=2),
            NOW + timedelta(hours=3),
            None,
            NOW,
        )


def get(client, path):
    with time_machine.travel(NOW, tick=False):
        return client.get(path).json()


def test_a_scheduled_window_is_upcoming_in_summary_and_its_endpoints(client, window):
    [listed] = get(client, "/api/v2/summary.json")["scheduled_maintenances"]
    assert listed["id"] == window.public_id
    assert listed["status"] == "scheduled"
    assert listed["scheduled_for"] == "2026-11-27T03:00:00.000Z"
    assert listed["scheduled_until"] == "2026-11-27T04:00:00.000Z"
    upcoming = get(client, "/api/v2/scheduled-maintenances/upcoming.json")
    assert [m["id"] for m in upcoming["scheduled_maintenances"]] == [window.public_id]
    assert get(client, "/api/v2/scheduled-maintenances/active.json")["scheduled_maintenances"] == []
    every = get(client, "/api/v2/scheduled-maintenances.json")["scheduled_maintenances"]
    assert [m["id"] for m in every] == [window.public_id]


def test_a_running_window_is_active(client, window):
    maintenance.set_status(window, "in_progress", None, NOW)
    active = get(client, "/api/v2/scheduled-maintenances/active.json")["scheduled_maintenances"]
    assert [m["status"] for m in active] == ["in_progress"]
    assert (
        get(client, "/api/v2/scheduled-maintenances/upcoming.json")["scheduled_maintenances"] == []
    )


def test_the_page_lists_upcoming_maintenance_with_its_window(client, window):
    with time_machine.travel(NOW, tick=False):
        page = client.get("/").content.decode()
    assert 'id="maintenance-heading">Scheduled maintenance' in page
    assert f'data-maintenance="{window.public_id}"' in page
    assert "From Nov. 27, 03:00 UTC to Nov. 27, 04:00 UTC" in page


def test_a_completed_window_leaves_the_page(client, window):
    maintenance.set_status(window, "completed", None, NOW)
    with time_machine.travel(NOW, tick=False):
        page = client.get("/").content.decode()
    assert "data-maintenance=" not in page
