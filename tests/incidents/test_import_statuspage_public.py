"""Imported history reads like our own on every public surface: /history, the permalinks at
the old page's ids, the v2 JSON (the same ids, times and bodies as the old page's) and the
feeds; HTML-ish bodies are shown as text, never as markup."""

from __future__ import annotations

import json
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
import time_machine
from django.core.management import call_command
from django.utils.dateparse import parse_datetime
from playwright.sync_api import expect

from tests.clock import NOW

EXPORT = Path(__file__).parent / "fixtures" / "statuspage"
OPEN_INCIDENT = "fox8576yzt3b"
HOSTILE_INCIDENT = "qb7tb5ds6mvw"
HOSTILE_BODY = "Some users see <script>alert('pwned')</script>"
UPCOMING_MAINTENANCE = "svyi749316zq"


def import_export() -> None:
    with time_machine.travel(NOW, tick=False):
        call_command("import_statuspage", str(EXPORT), stdout=StringIO())


def get(client, path: str):
    with time_machine.travel(NOW + timedelta(hours=1), tick=False):
        return client.get(path)


def source(name: str, key: str) -> dict[str, dict]:
    return {row["id"]: row for row in json.loads((EXPORT / name).read_text())[key]}


def instant(value: str | None):
    return parse_datetime(value) if value else None


@pytest.mark.django_db
def test_history_lists_imported_incidents_with_links_at_their_old_ids(client):
    import_export()

    recent = get(client, "/history").content.decode()
    older = get(client, "/history?before=2026-08").content.decode()

    assert "Delayed push alerts for some followers" in recent
    assert f'href="/incidents/{OPEN_INCIDENT}"' in recent
    assert "Web dashboard slower than usual" in older  # 2026-08-21, three months back


@pytest.mark.django_db
def test_an_old_link_opens_the_full_timeline_with_markup_shown_as_text(client):
    import_export()

    html = get(client, f"/incidents/{HOSTILE_INCIDENT}").content.decode()

    assert "Some users see &lt;script&gt;alert(&#x27;pwned&#x27;)&lt;/script&gt;" in html
    assert "<script>alert(" not in html and "<iframe" not in html
    assert "Degraded performance &lt;script&gt;" in html  # the incident's name too


@pytest.mark.django_db
def test_v2_incidents_answer_with_the_old_pages_ids_times_and_bodies(client):
    import_export()
    old = source("incidents.json", "incidents")

    ours = {i["id"]: i for i in get(client, "/api/v2/incidents.json").json()["incidents"]}

    assert set(old) <= set(ours)
    for incident_id, theirs in old.items():
        mine = ours[incident_id]
        for key in ("name", "status", "impact"):
            assert mine[key] == theirs[key], (incident_id, key)
        for key in ("created_at", "updated_at", "started_at", "monitoring_at", "resolved_at"):
            assert instant(mine[key]) == instant(theirs[key]), (incident_id, key)
        statuspage_updates = [
            (u["id"], u["status"], u["body"], instant(u["display_at"]))
            for u in theirs["incident_updates"]
        ]
        assert [
            (u["id"], u["status"], u["body"], instant(u["display_at"]))
            for u in mine["incident_updates"]
            if u["status"] != "postmortem"
        ] == statuspage_updates
        assert {c["id"] for c in mine["components"]} == {c["id"] for c in theirs["components"]}


@pytest.mark.django_db
def test_v2_components_and_summary_answer_like_the_old_page(client):
    import_export()
    old = source("components.json", "components")

    ours = {c["id"]: c for c in get(client, "/api/v2/components.json").json()["components"]}
    summary = get(client, "/api/v2/summary.json").json()

    assert set(ours) == set(old)
    for component_id, theirs in old.items():
        for key in ("status", "position", "group", "group_id", "only_show_if_degraded"):
            assert ours[component_id][key] == theirs[key], (component_id, key)
        if theirs["group"]:
            assert ours[component_id]["components"] == theirs["components"]
    assert [i["id"] for i in summary["incidents"]] == [OPEN_INCIDENT]
    assert [m["id"] for m in summary["scheduled_maintenances"]] == [UPCOMING_MAINTENANCE]


@pytest.mark.django_db
def test_feeds_carry_imported_incidents_as_escaped_text(client):
    import_export()

    atom = get(client, "/history.atom").content.decode()

    assert f"/incidents/{OPEN_INCIDENT}" in atom
    assert "<script>" not in atom and "&lt;script&gt;" in atom


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_hostile_imported_body_runs_nothing_in_a_browser(live_server, page):
    import_export()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))

    page.goto(f"{live_server.url}/incidents/{HOSTILE_INCIDENT}")

    expect(page.locator(".update-body").last).to_contain_text(HOSTILE_BODY)
    assert page.locator(".update-body script, .update-body iframe, .update-body img").count() == 0
    assert dialogs == []
