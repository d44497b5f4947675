"""Probes through the management API: the kind registry's rules (as load_probes applies
them), pause and resume; admins only."""

from __future__ import annotations

import pytest

from statuspage.models import Probe
from tests.factories import make_component, make_probe
from tests.incidents.api_calls import caller

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_api(client, admin_role_user):
    return caller(client, admin_role_user)


def test_create_read_change_and_delete_an_http_probe(admin_api):
    component = make_component()
    created = admin_api(
        "post",
        "probes",
        {
            "probe": {
                "component_id": component.public_id,
                "name": "health",
                "kind": "http",
                "url": "https://follow.example.org/health",
                "expected_codes": "200-299",
                "interval_seconds": 30,
            }
        },
    )
    assert created.status_code == 201, created.json()
    probe = created.json()
    assert probe["kind"] == "http" and probe["expected_codes"] == "200-299"
    assert probe["paused"] is False and "ping_url" not in probe
    changed = admin_api("patch", f"probes/{probe['id']}", {"probe": {"interval_seconds": 60}})
    assert changed.status_code == 200 and changed.json()["interval_seconds"] == 60
    assert admin_api("get", "probes").json()["probes"][0]["id"] == probe["id"]
    assert admin_api("delete", f"probes/{probe['id']}").status_code == 204
    assert not Probe.objects.exists()


def test_the_kinds_rules_are_applied_and_nothing_is_saved(admin_api):
    component = make_component()
    response = admin_api(
        "post",
        "probes",
        {
            "probe": {
                "component_id": component.public_id,
                "name": "health",
                "kind": "http",
                "expected_codes": "two hundred",
                "host": "follow.example.org",
                "interval_seconds": 5,
                "colour": "red",
            }
        },
    )
    assert response.status_code == 400
    fields = response.json()["fields"]
    assert set(fields) == {"host", "colour"}
    assert "Not a setting of a http probe" in fields["host"]
    second = admin_api(
        "post",
        "probes",
        {
            "probe": {
                "component_id": component.public_id,
                "name": "health",
                "kind": "http",
                "expected_codes": "two hundred",
                "interval_seconds": 5,
                "enabled": "yes",
            }
        },
    )
    assert second.status_code == 400
    assert set(second.json()["fields"]) == {"enabled"}
    third = admin_api(
        "post",
        "probes",
        {
            "probe": {
                "component_id": component.public_id,
                "name": "health",
                "kind": "http",
                "expected_codes": "two hundred",
                "interval_seconds": 5,
            }
        },
    )
    assert set(third.json()["fields"]) == {"url", "expected_codes", "interval_seconds"}
    unknown = admin_api("post", "probes", {"probe": {"name": "x", "kind": "smoke"}})
    assert unknown.status_code == 400 and set(unknown.json()["fields"]) == {"kind"}
    assert not Probe.objects.exists()


def test_a_heartbeat_probe_shows_its_ping_url(admin_api):
    component = make_component()
    created = admin_api(
        "post",
        "probes",
        {"probe": {"component_id": component.public_id, "name": "cron", "kind": "heartbeat"}},
    )
    assert created.status_code == 201, created.json()
    assert "/ping/" in created.json()["ping_url"]


def test_pause_and_resume(admin_api):
    probe = make_probe(make_component(), "https://follow.example.org/health")
    paused = admin_api("post", f"probes/{probe.id}/pause")
    assert paused.status_code == 200 and paused.json()["paused"] is True
    probe.refresh_from_db()
    assert not probe.enabled
    resumed = admin_api("post", f"probes/{probe.id}/resume")
    assert resumed.json()["paused"] is False
    assert admin_api("post", f"probes/{probe.id}/explode").status_code == 404
    assert admin_api("get", f"probes/{probe.id}/pause").status_code == 405


def test_support_staff_may_not_touch_probes(client, support_user):
    probe = make_probe(make_component(), "https://follow.example.org/health")
    api = caller(client, support_user)
    assert api("get", "probes").status_code == 403
    assert api("post", f"probes/{probe.id}/pause").status_code == 403
    assert api("delete", f"probes/{probe.id}").status_code == 403
    assert Probe.objects.get().enabled


def test_the_list_costs_the_same_queries_for_many_probes(admin_api, django_assert_max_num_queries):
    component = make_component()
    for n in range(12):
        make_probe(component, f"https://follow.example.org/{n}", name=f"health {n}")
    with django_assert_max_num_queries(6):
        assert len(admin_api("get", "probes").json()["probes"]) == 12
