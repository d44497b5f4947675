"""The answer store: public answers rendered once per change of the picture, served to every
other reader without a database query, and still fresh: a change, the banner's valid_until,
monitoring interrupted and a silent probe all reach readers through it."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection

from statuspage import changes, clock
from statuspage.models import Component
from statuspage.picture import monitoring
from statuspage.public import store
from tests.clock import NOW
from tests.factories import make_component, make_probe, open_outage_at

pytestmark = pytest.mark.django_db

V2_ENDPOINTS = [
    "summary",
    "status",
    "components",
    "incidents",
    "incidents/unresolved",
    "scheduled-maintenances",
    "scheduled-maintenances/upcoming",
    "scheduled-maintenances/active",
]
# Port 18199 is in this work's range and nothing listens on it: a database that refuses.
CLOSED_PORT = "18199"


@pytest.fixture
def traveller():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def site(traveller):
    component = make_component()
    make_probe(component, "http://127.0.0.1:1/health")
    monitoring.record_cycle(NOW)
    return component


def answer_urls(component: Component) -> list[str]:
    cid = component.public_id
    return [
        "/",
        "/api/v1/banner.json",
        "/api/v1/banner.json?audience=follow-app",
        f"/api/v1/banner.json?components={cid}",
        *[f"/api/v2/{name}.json" for name in V2_ENDPOINTS],
        "/history.rss",
        "/history.atom",
        f"/components/{cid}/history.rss",
        f"/components/{cid}/history.atom",
        "/badge.svg",
        f"/badges/{cid}.svg",
        f"/badges/{cid}/uptime.svg",
    ]


def test_every_stored_answer_is_served_without_a_database_query(
    client, site, django_assert_num_queries
):
    for url in answer_urls(site):
        first = client.get(url)
        assert first.status_code == 200, url
        with django_assert_num_queries(0):
            again = client.get(url)
        assert again.status_code == 200, url
        assert again.content == first.content, url
        assert again["ETag"] == first["ETag"], url


def test_a_revalidation_with_a_matching_etag_is_a_304_without_rendering(
    client, site, django_assert_num_queries
):
    for url in answer_urls(site):
        first = client.get(url)
        rendered = sum(store.RENDERS.values())
        with django_assert_num_queries(0):
            again = client.get(url, HTTP_IF_NONE_MATCH=first["ETag"])
        assert again.status_code == 304, url
        assert again.content == b""
        assert sum(store.RENDERS.values()) == rendered, url


def test_a_304_from_the_store_keeps_cors_and_validators(client, site):
    first = client.get("/api/v2/summary.json")
    again = client.get("/api/v2/summary.json", HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304
    assert again["Access-Control-Allow-Origin"] == "*"
    assert again["ETag"] == first["ETag"]


def test_the_page_gets_an_etag_so_its_live_refresh_revalidates(client, site, traveller):
    first = client.get("/")
    assert first["ETag"]
    assert client.get("/", HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304
    open_outage_at(NOW)
    refreshed = client.get("/", HTTP_IF_NONE_MATCH=first["ETag"])
    assert refreshed.status_code == 200
    assert "Major System Outage" in refreshed.content.decode()


def test_a_change_of_the_picture_reaches_the_next_request(client, site, traveller):
    summary = client.get("/api/v2/summary.json").json()
    banner = client.get("/api/v1/banner.json", {"audience": "follow-app"}).json()
    assert summary["status"]["indicator"] == "none" and banner["show"] is False
    open_outage_at(NOW)
    summary = client.get("/api/v2/summary.json").json()
    banner = client.get("/api/v1/banner.json", {"audience": "follow-app"}).json()
    assert summary["status"]["indicator"] == "critical"
    assert len(summary["incidents"]) == 1
    assert banner["show"] is True and banner["status"] == "incident"


def test_a_component_renamed_in_the_admin_reaches_the_next_request(client, site):
    client.get("/api/v2/components.json")
    site.name = "Alerts"
    site.save()
    names = [c["name"] for c in client.get("/api/v2/components.json").json()["components"]]
    assert "Alerts" in names and "Follow app alerts" not in names


def test_the_reader_language_is_part_of_the_key(client, site):
    english = client.get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    spanish = client.get("/", HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert "All Systems Operational" in english
    assert "All Systems Operational" not in spanish
    assert "Accept-Language" in client.get("/", HTTP_ACCEPT_LANGUAGE="es")["Vary"]


def test_query_parameters_that_change_the_answer_are_part_of_the_key(client, site, traveller):
    make_component("Share upload", audience_slug="share-app", advice="")
    open_outage_at(NOW, "Share upload", "share-app")
    mine = client.get("/api/v1/banner.json", {"audience": "follow-app"}).json()
    theirs = client.get("/api/v1/banner.json", {"audience": "share-app"}).json()
    assert mine["show"] is False and theirs["show"] is True


def test_a_cache_buster_does_not_bypass_the_store(client, site, django_assert_num_queries):
    client.get("/api/v1/banner.json", {"audience": "follow-app"})
    with django_assert_num_queries(0):
        client.get("/api/v1/banner.json", {"audience": "follow-app", "_": "1733400000"})


def test_an_unknown_audience_is_still_a_400_and_never_stored(client, site):
    for _ in range(2):
        response = client.get("/api/v1/banner.json", {"audience": "nobody"})
        assert response.status_code == 400


def test_banner_is_not_served_past_its_valid_until(client, site, traveller, settings):
    settings.ANSWERS = {**settings.ANSWERS, "REFRESH_SECONDS": 3600}
    first = client.get("/api/v1/banner.json").json()
    assert first["valid_until"] == "2026-11-27T01:01:00.000Z"
    traveller.shift(timedelta(seconds=61))
    monitoring.record_cycle(NOW + timedelta(seconds=61))
    later = client.get("/api/v1/banner.json").json()
    assert later["valid_until"] == "2026-11-27T01:02:00.000Z"


def test_monitoring_interrupted_reaches_readers_through_the_store(
    client, site, traveller, django_assert_num_queries
):
    assert client.get("/api/v2/summary.json").json()["status"]["indicator"] == "none"
    with django_assert_num_queries(0):
        client.get("/api/v2/summary.json")
    traveller.shift(timedelta(seconds=25))
    status = client.get("/api/v2/summary.json").json()["status"]
    assert status == {"indicator": "minor", "description": "Status unknown: monitoring interrupted"}
    banner = client.get("/api/v1/banner.json", {"audience": "follow-app"}).json()
    assert banner["status"] == "unknown"
    assert "Status unknown" in client.get("/").content.decode()


def test_a_silent_probe_reaches_readers_through_the_store(client, site, traveller, pager):
    from statuspage.picture import silence

    assert client.get("/api/v1/banner.json").json()["status"] == "operational"
    traveller.shift(timedelta(seconds=45))
    monitoring.record_cycle(NOW + timedelta(seconds=45))
    silence.forget()
    silence.sweep(NOW)
    silence.sweep(NOW + timedelta(seconds=45))
    banner = client.get("/api/v1/banner.json").json()
    assert banner["status"] == "unknown" and banner["status_unknown"] is True


def test_a_change_inside_a_transaction_moves_the_version_again_on_commit(
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        changes.picture_changed()
        during = changes.current_version()
    assert changes.current_version() != during


def test_many_changes_in_one_transaction_move_the_version_once_more_on_commit(
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks() as callbacks:
        changes.picture_changed()
        first = changes.current_version()
        make_component("Another")
        assert changes.current_version() != first
    assert callbacks.count(changes.bump) == 1


def test_the_store_can_be_switched_off(client, site, settings, django_assert_max_num_queries):
    settings.ANSWERS = {**settings.ANSWERS, "ENABLED": False}
    client.get("/api/v2/summary.json")
    rendered = sum(store.RENDERS.values())
    client.get("/api/v2/summary.json")
    assert sum(store.RENDERS.values()) == rendered  # live, not through the store


# --- The database unreachable -----------------------------------------------------------


@pytest.fixture
def cut_database(transactional_db):
    """Point the connection at a database that is not there: a missing directory for SQLite,
    a closed port for PostgreSQL. Every query then fails as it would in an outage."""
    saved = dict(connection.settings_dict)

    def cut() -> None:
        connection.close()
        if connection.vendor == "sqlite":
            connection.settings_dict["NAME"] = "/nonexistent/statuspage/db.sqlite3"
        else:
            connection.settings_dict.update(HOST="127.0.0.1", PORT=CLOSED_PORT)

    yield cut
    connection.close()
    connection.settings_dict.clear()
    connection.settings_dict.update(saved)


@pytest.fixture
def live_site(transactional_db):
    with time_machine.travel(NOW, tick=False) as traveller:
        component = make_component()
        make_probe(component, "http://127.0.0.1:1/health")
        monitoring.record_cycle(NOW)
        yield traveller


def test_with_the_database_down_the_last_stored_answers_are_served(client, live_site, cut_database):
    stored = {url: client.get(url).content for url in ["/", "/api/v2/summary.json"]}
    cut_database()
    changes.bump()  # a newer version than the stored one: a render is tried and fails
    monitoring.forget()
    for url, content in stored.items():
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.content == content, url


def test_with_the_database_down_and_nothing_stored_json_says_status_unknown(
    client, live_site, cut_database
):
    cut_database()
    monitoring.forget()
    banner = client.get("/api/v1/banner.json", {"audience": "follow-app"})
    assert banner.status_code == 503
    assert banner["Content-Type"] == "application/json"
    assert banner["Access-Control-Allow-Origin"] == "*"
    body = banner.json()
    assert body["status"] == "unknown" and body["show"] is True
    assert body["valid_until"] == "2026-11-27T01:01:00.000Z"
    for name in V2_ENDPOINTS:
        response = client.get(f"/api/v2/{name}.json")
        assert response.status_code == 503, name
        assert response["Content-Type"] == "application/json"
        status = response.json()["status"]
        assert status["indicator"] == "minor"
        assert status["description"].startswith("Status unknown")
    assert client.get("/api/v2/summary.json").json()["components"] == []


def test_with_the_database_down_and_nothing_stored_the_page_says_status_unknown(
    client, live_site, cut_database
):
    cut_database()
    monitoring.forget()
    page = client.get("/")
    assert page.status_code == 503
    assert page["Retry-After"]
    assert "Status unknown: this page cannot read its records" in page.content.decode()
    spanish = client.get("/", HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert "Estado desconocido" in spanish


def test_with_the_database_down_a_stored_banner_is_never_served_past_valid_until(
    client, live_site, cut_database
):
    client.get("/api/v1/banner.json")
    cut_database()
    monitoring.forget()
    live_site.shift(timedelta(seconds=40))
    assert client.get("/api/v1/banner.json").status_code == 200
    live_site.shift(timedelta(seconds=21))
    late = client.get("/api/v1/banner.json")
    assert late.status_code == 503
    assert late.json()["status"] == "unknown"


# --- Housekeeping and operations -------------------------------------------------------


def test_housekeeping_renews_the_hot_answers_past_half_their_freshness(
    client, site, traveller, django_assert_num_queries
):
    from statuspage.public import prewarm

    client.get("/api/v2/summary.json")
    rendered = store.RENDERS["v2:summary"]
    traveller.shift(timedelta(seconds=2))
    prewarm.refresh(clock.now())
    assert store.RENDERS["v2:summary"] == rendered, "still in the first half: left alone"
    traveller.shift(timedelta(seconds=4))
    prewarm.refresh(clock.now())
    assert store.RENDERS["v2:summary"] == rendered + 1
    traveller.shift(timedelta(seconds=1))
    with django_assert_num_queries(0):
        client.get("/api/v1/banner.json", {"audience": "follow-app"}, HTTP_ACCEPT_LANGUAGE="es")
    traveller.shift(timedelta(seconds=7))
    with django_assert_num_queries(0):
        client.get("/api/v2/summary.json")  # rendered at 0 s, renewed at 6 s: fresh at 14 s


def test_flush_answers_makes_every_answer_render_again(client, site):
    client.get("/api/v2/summary.json")
    rendered = store.RENDERS["v2:summary"]
    call_command("flush_answers", stdout=StringIO())
    client.get("/api/v2/summary.json")
    assert store.RENDERS["v2:summary"] == rendered + 1


def test_a_signed_in_reader_is_served_the_stored_page_without_touching_the_session(
    client, site, django_assert_num_queries, admin_user
):
    anonymous = client.get("/").content
    client.force_login(admin_user)
    client.cookies["django_language"] = "en"
    with django_assert_num_queries(0):
        signed_in = client.get("/")
    assert signed_in.content == anonymous
    assert "sessionid" not in signed_in.cookies


def test_a_change_made_in_another_process_reaches_this_one(client, site, settings):
    """The version lives in the shared store, not in a process: here another process (as the
    engine or a task worker would) moves it, on the local file store every process shares."""
    answers = settings.CACHES["answers"]
    if not answers["BACKEND"].endswith("FileBasedCache"):
        pytest.skip("the file store is the local default; Redis is shared by construction")
    client.get("/api/v2/summary.json")
    rendered = store.RENDERS["v2:summary"]
    environment = {**os.environ, "ANSWERS_CACHE_DIR": answers["LOCATION"], "REDIS_URL": ""}
    subprocess.run(
        [sys.executable, "manage.py", "flush_answers"],
        check=True,
        env=environment,
        cwd=settings.BASE_DIR,
        capture_output=True,
        timeout=60,
    )
    client.get("/api/v2/summary.json")
    assert store.RENDERS["v2:summary"] == rendered + 1


def test_metrics_count_how_each_answer_was_served(client, site):
    from prometheus_client import REGISTRY

    def count(how: str) -> float:
        labels = {"kind": "v2:summary", "how": how}
        return REGISTRY.get_sample_value("statuspage_public_answers_total", labels) or 0.0

    before = {how: count(how) for how in ("rendered", "stored", "not_modified")}
    etag = client.get("/api/v2/summary.json")["ETag"]
    client.get("/api/v2/summary.json")
    client.get("/api/v2/summary.json", HTTP_IF_NONE_MATCH=etag)
    assert {how: count(how) - before[how] for how in before} == {
        "rendered": 1,
        "stored": 1,
        "not_modified": 1,
    }
    assert "statuspage_public_answers_total" in client.get("/metrics").content.decode()


# --- Single-flight ------------------------------------------------------------------------


def test_while_another_worker_renders_readers_get_the_entry_they_have(
    client, site, traveller, django_assert_num_queries
):
    first = client.get("/api/v2/summary.json")
    request = first.wsgi_request
    traveller.shift(timedelta(seconds=11))  # the timer ran out; the picture did not change
    key = store.answer_key("v2:summary", request, (), False, {})
    changes.store().add(f"{key}:rendering:{changes.current_version()}", 1, 60)  # a worker renders
    rendered = store.RENDERS["v2:summary"]
    with django_assert_num_queries(0):
        again = client.get("/api/v2/summary.json")
    assert again.content == first.content
    assert store.RENDERS["v2:summary"] == rendered, "one render at a time per answer"


def test_a_reader_waits_for_a_change_being_rendered_then_renders_itself(client, site, monkeypatch):
    request = client.get("/api/v2/summary.json").wsgi_request
    changes.bump()
    key = store.answer_key("v2:summary", request, (), False, {})
    changes.store().add(f"{key}:rendering:{changes.current_version()}", 1, 60)
    monkeypatch.setattr(store, "WAIT_SECONDS", 0.1)  # the other worker never finishes
    rendered = store.RENDERS["v2:summary"]
    assert client.get("/api/v2/summary.json").status_code == 200
    assert store.RENDERS["v2:summary"] == rendered + 1, "never the previous picture"
