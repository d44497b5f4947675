"""summary.json field by field against Statuspage v2, and the banner answer for apps."""

import re

import pytest
import time_machine

from incidents.response import workflow
from statuspage.models import ProbeState, Verdict
from tests.clock import NOW
from tests.factories import make_component, make_probe

ISO_MS = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}(Z|[+-]\d\d:\d\d)$"

pytestmark = pytest.mark.django_db

COMPONENT_FIELDS = {
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
}
# Ours, beside Statuspage's fields; its clients ignore it (statuspage.picture.silence).
LISTED_COMPONENT_EXTRAS = {"status_unknown"}
INCIDENT_FIELDS = {
    "id",
    "name",
    "status",
    "impact",
    "created_at",
    "updated_at",
    "started_at",
    "monitoring_at",
    "resolved_at",
    "shortlink",
    "page_id",
    "incident_updates",
    "components",
}
UPDATE_FIELDS = {
    "id",
    "incident_id",
    "status",
    "body",
    "created_at",
    "updated_at",
    "display_at",
    "affected_components",
    "deliver_notifications",
    "custom_tweet",
    "tweet_id",
}


@pytest.fixture
def outage():
    component = make_component()
    make_component("Share upload", audience_slug="share-app")
    probe = make_probe(component, "http://127.0.0.1:1/health")
    probe.state = ProbeState.DOWN
    probe.first_failure_at = NOW
    probe.save()
    with time_machine.travel(NOW, tick=False):
        return workflow.handle_verdict(probe, Verdict.CONFIRMED_DOWN, NOW)


def test_summary_when_all_is_well(client):
    make_component()
    response = client.get("/api/v2/summary.json")
    body = response.json()
    assert set(body) == {"page", "status", "components", "incidents", "scheduled_maintenances"}
    assert set(body["page"]) == {"id", "name", "url", "time_zone", "updated_at"}
    assert body["status"] == {"indicator": "none", "description": "All Systems Operational"}
    assert body["incidents"] == [] and body["scheduled_maintenances"] == []


def test_summary_components_and_groups_have_statuspage_fields(client, outage):
    components = client.get("/api/v2/summary.json").json()["components"]
    [group] = [c for c in components if c["group"]]
    leaves = [c for c in components if not c["group"]]
    assert set(group) == COMPONENT_FIELDS | {"components"} | LISTED_COMPONENT_EXTRAS
    assert group["status"] == "major_outage"
    assert sorted(group["components"]) == sorted(c["id"] for c in leaves)
    for leaf in leaves:
        assert set(leaf) == COMPONENT_FIELDS | LISTED_COMPONENT_EXTRAS
        assert leaf["group_id"] == group["id"]
        assert leaf["created_at"].endswith("Z")


def test_summary_incident_shape_and_enums(client, outage):
    [incident] = client.get("/api/v2/summary.json").json()["incidents"]
    assert set(incident) == INCIDENT_FIELDS
    assert incident["status"] in {
        "investigating",
        "identified",
        "monitoring",
        "resolved",
        "postmortem",
    }
    assert incident["impact"] in {"none", "minor", "major", "critical"}
    assert incident["shortlink"].endswith(f"/incidents/{outage.public_id}")
    [update] = incident["incident_updates"]
    assert set(update) == UPDATE_FIELDS
    assert update["incident_id"] == incident["id"]
    for stamp in (incident["created_at"], incident["started_at"], update["display_at"]):
        assert re.match(ISO_MS, stamp), stamp


def test_summary_answers_head_and_any_origin(client, outage):
    response = client.head("/api/v2/summary.json")
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "*"
    assert "max-age=" in response["Cache-Control"]


def test_summary_reads_in_a_fixed_number_of_queries(client, outage, django_assert_max_num_queries):
    for n in range(10):
        make_component(f"Extra {n}", audience_slug=None)
    # components, unresolved incidents, their updates, their components, last incident change,
    # "is the engine alive", and current maintenance windows
    with django_assert_max_num_queries(7):
        client.get("/api/v2/summary.json")


def test_banner_shows_for_the_affected_app_only(client, outage):
    shown = client.get("/api/v1/banner.json", {"audience": "follow-app"}).json()
    assert shown["show"] is True and shown["severity"] == "critical"
    assert shown["title"] == "Service problem"
    assert shown["advice"] == "Check glucose with a meter."
    assert shown["link"].endswith(f"/incidents/{outage.public_id}")
    assert client.get("/api/v1/banner.json", {"audience": "share-app"}).json()["show"] is False


def test_banner_filters_by_component_ids(client, outage):
    component = outage.components.get()
    answer = client.get("/api/v1/banner.json", {"components": component.public_id}).json()
    assert answer["show"] is True


def test_banner_says_until_when_the_answer_holds(client, settings):
    settings.STATUSPAGE = {**settings.STATUSPAGE, "BANNER_TTL_SECONDS": 60}
    with time_machine.travel(NOW, tick=False):
        response = client.get("/api/v1/banner.json")
    body = response.json()
    assert body["show"] is False
    assert body["valid_until"] == "2026-11-27T01:01:00.000Z"
    assert response["Access-Control-Allow-Origin"] == "*"


def test_banner_rejects_unknown_audience_and_components_clearly(client):
    response = client.get("/api/v1/banner.json", {"audience": "nope"})
    assert response.status_code == 400
    assert response.json() == {"error": "Unknown audience 'nope'."}
    response = client.get("/api/v1/banner.json", {"components": "abc,def"})
    assert response.json() == {"error": "Unknown component id(s): abc, def."}


def test_public_json_refuses_writes(client):
    assert client.post("/api/v2/summary.json").status_code == 405


def test_status_page_lists_components_and_the_open_incident(
    client, outage, django_assert_max_num_queries
):
    # snapshot (5), uptime (sums, days with news), response times, last checks, recent
    # incidents, engine liveness, maintenance windows
    with django_assert_max_num_queries(12):
        page = client.get("/").content.decode()
    assert "Major System Outage" in page
    assert outage.name in page
    assert 'href="/subscribe/"' in page
    assert "What to do now:" in page


def test_incident_permalink_shows_its_timeline(client, outage):
    page = client.get(f"/incidents/{outage.public_id}").content.decode()
    assert outage.updates.get().body.splitlines()[0] in page
    assert client.get("/incidents/unknown").status_code == 404


def test_update_text_is_escaped_on_the_page(client, outage):
    update = outage.updates.get()
    update.body = "<script>alert(1)</script>"
    update.save()
    page = client.get(f"/incidents/{outage.public_id}").content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;" in page
