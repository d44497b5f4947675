"""Public answers never include private components or incidents: every public surface is
walked with an audience's private component (in major outage) and its private, published,
critical incident present, and none names them, counts them or turns red for them."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import time_machine

from statuspage.models import Audience, Component, ComponentDay
from statuspage.picture.uptime import rollup
from statuspage.public.snapshot import banner_variants, fingerprint, public_paths, publish
from tests.clock import NOW
from tests.factories import add_update, make_incident
from tests.statuspage.private_world import private_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    return private_world()


def surfaces() -> list[str]:
    """Every public URL: what the static copy holds, banner.json per audience and for
    none, the history's earlier pages, the subscription form and the OpenAPI document."""
    paths = list(dict.fromkeys(public_paths()))
    paths += [url for url, _ in banner_variants()]
    paths += ["/history?before=2026-08", "/subscribe/", "/api/openapi.json"]
    return paths


def assert_clean(body: bytes, secrets: list[str], where: str) -> None:
    text = body.decode()
    for secret in secrets:
        assert secret not in text, f"{where} shows {secret!r}"


def test_no_public_surface_names_a_private_component_or_incident(client, world):
    urls = surfaces()
    assert "/api/v1/banner.json?audience=clinic-network" in urls
    assert any(u.startswith("/components/") for u in urls)
    assert any(u.startswith("/badges/") for u in urls)
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        assert_clean(response.content, world.secrets(), url)


def test_the_private_outage_does_not_colour_the_public_status(client, world):
    summary = client.get("/api/v2/summary.json").json()
    assert summary["status"] == {"indicator": "none", "description": "All Systems Operational"}
    assert summary["incidents"] == []
    assert [c["name"] for c in summary["components"] if not c["group"]] == ["Follow app alerts"]
    assert client.get("/api/v2/status.json").json()["status"]["indicator"] == "none"
    assert client.get("/api/v2/incidents.json").json()["incidents"] == []
    assert "All Systems Operational" in client.get("/badge.svg").content.decode()
    for slug in Audience.objects.values_list("slug", flat=True):
        banner = client.get(f"/api/v1/banner.json?audience={slug}").json()
        assert banner["show"] is False, slug
        assert banner["status"] == "operational", slug


def test_private_ids_answer_as_if_they_did_not_exist(client, world):
    component, incident = world.private_component.public_id, world.private_incident.public_id
    for url in [
        f"/incidents/{incident}",
        f"/components/{component}/history.rss",
        f"/components/{component}/history.atom",
        f"/badges/{component}.svg",
        f"/badges/{component}/uptime.svg",
    ]:
        assert client.get(url).status_code == 404, url
        assert (
            client.get(
                url.replace(component, "0nosuchid000").replace(incident, "0nosuch")
            ).status_code
            == 404
        )
    asked = client.get(f"/api/v1/banner.json?components={component}")
    unknown = client.get("/api/v1/banner.json?components=0nosuchid000")
    assert asked.status_code == unknown.status_code == 400


def test_a_public_incident_names_only_its_public_components(client, world):
    incident = make_incident(world.public_component)
    incident.components.add(world.private_component, through_defaults={"status": "major_outage"})
    incident.published_at = NOW
    incident.save()
    update = add_update(incident, "opened")
    update.affected_components = [
        {
            "code": c.public_id,
            "name": c.name,
            "old_status": "operational",
            "new_status": "major_outage",
        }
        for c in (world.public_component, world.private_component)
    ]
    update.save()
    for url in [
        "/",
        f"/incidents/{incident.public_id}",
        "/api/v2/incidents.json",
        "/api/v2/summary.json",
        "/api/v1/banner.json",
        "/history.rss",
    ]:
        response = client.get(url)
        assert response.status_code == 200, url
        assert incident.name in response.content.decode(), url
        assert_clean(response.content, world.secrets(), url)
    [listed] = client.get("/api/v2/incidents.json").json()["incidents"]
    assert [c["name"] for c in listed["components"]] == ["Follow app alerts"]
    assert [a["name"] for a in listed["incident_updates"][0]["affected_components"]] == [
        "Follow app alerts"
    ]


def test_the_static_snapshot_holds_nothing_private(client, world, tmp_path, settings):
    settings.STATUS_SNAPSHOT_DIR = str(tmp_path / "public")
    with time_machine.travel(NOW + timedelta(minutes=1), tick=False):
        publish()
    files = [p for p in (tmp_path / "public").rglob("*") if p.is_file()]
    assert any(p.name == "banner.audience-clinic-network.json" for p in files)
    for path in files:
        if path.suffix in {".css", ".js", ".svg", ".html", ".json", ".rss", ".atom", ""}:
            assert_clean(path.read_bytes(), world.secrets(), str(path))
    summary = json.loads((tmp_path / "public/api/v2/summary.json").read_text())
    assert summary["status"]["indicator"] == "none"


def test_a_private_page_read_first_is_never_served_to_the_public(client, admin_client, world):
    """The answer store and the front's cache never hand the audience's answer to others."""
    for url in ["/", "/api/v2/summary.json", "/api/v1/banner.json", "/history.rss", "/badge.svg"]:
        private = admin_client.get(f"/a/clinic-network{url}")
        assert private.status_code == 200, url
        assert private["Cache-Control"] == "private, no-store", url
        public = client.get(url)
        assert_clean(public.content, world.secrets(), url)


def test_the_public_bars_never_count_a_private_incident_its_audience_s_bars_show(
    client, admin_client, world
):
    """Audience pages list their private incidents on the bars live; the day rows every
    reader shares, and the public bars read, keep holding public incidents only."""
    world.private_incident.components.add(
        world.public_component, through_defaults={"status": "major_outage"}
    )
    Component.objects.update(created_at=NOW - timedelta(days=1))
    later = NOW + timedelta(hours=1)
    rollup(NOW.date(), NOW.date(), later)
    with time_machine.travel(later, tick=False):
        private = admin_client.get("/a/clinic-network/").content.decode()
        public = client.get("/")
    assert private.count(f"· {world.private_incident.name}") >= 2  # both components' bars
    assert_clean(public.content, world.secrets(), "/")
    stored = ComponentDay.objects.values_list("incidents", flat=True)
    assert stored and all(listed == [] for listed in stored)


def test_making_a_component_private_republishes_the_copy_at_once(world):
    before = fingerprint()
    world.public_component.private_to.add(world.audience)
    assert fingerprint() != before
