"""The Statuspage v2 read API: all eight endpoints, their shapes and enums, HEAD, CORS,
and HTTP revalidation (ETag, Last-Modified, 304) so caches can absorb a rush of readers."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from django.utils.http import parse_http_date

from tests.clock import NOW
from tests.factories import open_outage_at, resolve_at

pytestmark = pytest.mark.django_db

ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}(Z|[+-]\d\d:\d\d)$")
ENDPOINTS = {
    "/api/v2/summary.json": {"status", "components", "incidents", "scheduled_maintenances"},
    "/api/v2/status.json": {"status"},
    "/api/v2/components.json": {"components"},
    "/api/v2/incidents.json": {"incidents"},
    "/api/v2/incidents/unresolved.json": {"incidents"},
    "/api/v2/scheduled-maintenances.json": {"scheduled_maintenances"},
    "/api/v2/scheduled-maintenances/upcoming.json": {"scheduled_maintenances"},
    "/api/v2/scheduled-maintenances/active.json": {"scheduled_maintenances"},
}
PAGE_FIELDS = {"id", "name", "url", "time_zone", "updated_at"}
COMPONENT_STATUSES = {
    "operational",
    "degraded_performance",
    "partial_outage",
    "major_outage",
    "under_maintenance",
}
INCIDENT_STATUSES = {"investigating", "identified", "monitoring", "resolved", "postmortem"}
IMPACTS = {"none", "minor", "major", "critical"}
INDICATOR_DESCRIPTIONS = {
    "All Systems Operational",
    "Partially Degraded Service",
    "Degraded System Service",
    "Minor Service Outage",
    "Partial System Outage",
    "Major System Outage",
    "Service Under Maintenance",
}


@pytest.mark.parametrize("path", ENDPOINTS)
def test_every_v2_endpoint_answers_page_plus_its_key(client, live_outage, path):
    response = client.get(path)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == {"page"} | ENDPOINTS[path]
    assert set(body["page"]) == PAGE_FIELDS
    assert ISO_MS.match(body["page"]["updated_at"])


@pytest.mark.parametrize("path", ENDPOINTS)
def test_every_v2_endpoint_answers_head_with_cors_and_validators(client, live_outage, path):
    response = client.head(path)
    assert response.status_code == 200
    assert response.content == b""
    assert response["Access-Control-Allow-Origin"] == "*"
    assert response["ETag"].startswith('"')
    assert "Last-Modified" in response
    assert "public" in response["Cache-Control"] and "max-age=10" in response["Cache-Control"]


def test_status_json_rolls_up_into_the_documented_indicator(client, live_outage):
    status = client.get("/api/v2/status.json").json()["status"]
    assert status == {"indicator": "critical", "description": "Major System Outage"}
    assert status["description"] in INDICATOR_DESCRIPTIONS


@pytest.mark.parametrize(
    ("impact", "description"),
    [
        ("minor", "Minor Service Outage"),
        ("major", "Partial System Outage"),
        ("critical", "Major System Outage"),
    ],
)
def test_an_open_incident_over_operational_components_is_described_as_its_impact(
    client, live_outage, impact, description
):
    from statuspage.models import Component

    Component.objects.update(status="operational")
    live_outage.impact = impact
    live_outage.save(update_fields=["impact"])
    status = client.get("/api/v2/status.json").json()["status"]
    assert status == {"indicator": impact, "description": description}


def test_components_json_lists_groups_then_components_with_every_field(client, live_outage):
    components = client.get("/api/v2/components.json").json()["components"]
    group = components[0]
    assert group["group"] is True and group["group_id"] is None
    assert set(group) == {
        "id",
        "name",
        "status",
        "created_at",
        "updated_at",
        "position",
        "description",
        "showcase",
        "start_date",
        "group_id",
        "page_id",
        "group",
        "only_show_if_degraded",
        "components",
        "status_unknown",  # ours: clients of Statuspage ignore it
    }
    leaves = components[1:]
    assert {c["name"] for c in leaves} == {"Follow app alerts", "Share upload"}
    for leaf in leaves:
        assert leaf["status"] in COMPONENT_STATUSES
        assert leaf["group_id"] == group["id"]
        assert leaf["page_id"] == "statuspage"
        assert "components" not in leaf
    assert {c["name"]: c["status"] for c in leaves} == {
        "Follow app alerts": "major_outage",
        "Share upload": "operational",
    }


def test_incidents_json_lists_resolved_ones_too_newest_first(client, resolved_incident):
    live = open_outage_at(NOW, name="Share upload", audience="share-app")
    incidents = client.get("/api/v2/incidents.json").json()["incidents"]
    assert [i["id"] for i in incidents] == [live.public_id, resolved_incident.public_id]
    old = incidents[1]
    assert old["status"] == "resolved" and old["status"] in INCIDENT_STATUSES
    assert old["impact"] in IMPACTS
    assert ISO_MS.match(old["resolved_at"])
    statuses = [u["status"] for u in old["incident_updates"]]
    assert statuses == ["resolved", "investigating"], "updates are newest first"
    [change] = old["incident_updates"][0]["affected_components"]
    assert change == {
        "code": old["components"][0]["id"],
        "name": "Follow app alerts",
        "old_status": "major_outage",
        "new_status": "operational",
    }


def test_incidents_json_keeps_the_fifty_most_recent(client):
    from datetime import timedelta

    first = None
    for n in range(51):
        incident = resolve_at(
            open_outage_at(NOW + timedelta(hours=n)), NOW + timedelta(hours=n, minutes=30)
        )
        first = first or incident
    incidents = client.get("/api/v2/incidents.json").json()["incidents"]
    assert len(incidents) == 50
    assert first.public_id not in {i["id"] for i in incidents}


def test_unresolved_json_leaves_resolved_incidents_out(client, resolved_incident, live_outage):
    incidents = client.get("/api/v2/incidents/unresolved.json").json()["incidents"]
    assert [i["id"] for i in incidents] == [live_outage.public_id]
    assert incidents[0]["status"] == "investigating"


@pytest.mark.parametrize("path", [p for p in ENDPOINTS if "maintenances" in p])
def test_maintenance_endpoints_list_nothing_while_none_is_planned(client, path):
    assert client.get(path).json()["scheduled_maintenances"] == []


def test_a_repeat_request_with_the_etag_gets_304_and_no_body(client, live_outage):
    first = client.get("/api/v2/summary.json")
    again = client.get("/api/v2/summary.json", HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304
    assert again.content == b""
    assert again["ETag"] == first["ETag"]
    assert again["Access-Control-Allow-Origin"] == "*"


def test_if_modified_since_gets_304_until_something_changes(client, live_outage):
    first = client.get("/api/v2/components.json")
    since = first["Last-Modified"]
    assert client.get("/api/v2/components.json", HTTP_IF_MODIFIED_SINCE=since).status_code == 304
    a_minute_after_since = datetime.fromtimestamp(parse_http_date(since) + 60, UTC)
    resolve_at(live_outage, a_minute_after_since)
    changed = client.get("/api/v2/components.json", HTTP_IF_MODIFIED_SINCE=since)
    assert changed.status_code == 200
    assert changed["ETag"] != first["ETag"]


def test_a_stale_etag_gets_the_fresh_body(client, live_outage):
    first = client.get("/api/v2/status.json")
    resolve_at(live_outage, NOW.replace(hour=3))
    fresh = client.get("/api/v2/status.json", HTTP_IF_NONE_MATCH=first["ETag"])
    assert fresh.status_code == 200
    assert fresh.json()["status"]["indicator"] == "none"


def test_cors_preflight_is_answered_for_conditional_requests(client):
    response = client.options(
        "/api/v2/summary.json",
        HTTP_ORIGIN="https://app.example",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="if-none-match",
    )
    assert response.status_code == 204
    assert response["Access-Control-Allow-Origin"] == "*"
    assert "GET" in response["Access-Control-Allow-Methods"]
    assert "If-None-Match" in response["Access-Control-Allow-Headers"]
    assert "ETag" in client.get("/api/v2/summary.json")["Access-Control-Expose-Headers"]


@pytest.mark.parametrize("method", ["post", "put", "delete", "patch"])
def test_writes_are_refused_with_405_naming_the_allowed_methods(client, method):
    response = getattr(client, method)("/api/v2/components.json")
    assert response.status_code == 405
    assert "GET" in response["Allow"]


def test_status_descriptions_stay_english_for_clients_whatever_the_language(client, live_outage):
    body = client.get("/api/v2/status.json", HTTP_ACCEPT_LANGUAGE="es").json()
    assert body["status"]["description"] == "Major System Outage"


def test_v2_reads_take_a_fixed_number_of_queries(client, resolved_incident):
    from tests.factories import make_component

    def count(path):
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        from statuspage.picture import monitoring

        monitoring.forget()
        with CaptureQueriesContext(connection) as ctx:
            client.get(path)
        return len(ctx.captured_queries)

    before = {path: count(path) for path in ENDPOINTS}
    for n in range(5):
        make_component(f"Extra {n}", audience_slug=None)
        resolve_at(open_outage_at(NOW.replace(day=1, hour=n)), NOW.replace(day=1, hour=n, minute=5))
    after = {path: count(path) for path in ENDPOINTS}
    assert after == before
    assert max(after.values()) <= 7
