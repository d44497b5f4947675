"""The static copy: complete, identical in content to the live site, stamped with its
generation time, switched atomically, and published on change or at least every minute."""

from __future__ import annotations

import json
from datetime import timedelta

import feedparser
import pytest
import time_machine
from django.core.management import call_command

from statuspage.public.snapshot import Publisher, SnapshotError, publish
from tests.clock import NOW
from tests.factories import make_component, open_outage_at

pytestmark = pytest.mark.django_db


@pytest.fixture
def snapshot_dir(tmp_path, settings):
    settings.STATUS_SNAPSHOT_DIR = str(tmp_path / "public")
    return tmp_path / "public"


def test_publish_writes_page_assets_json_feeds_and_incident_pages(client, snapshot_dir):
    incident = open_outage_at(NOW)
    with time_machine.travel(NOW + timedelta(minutes=1), tick=False):
        publish()
    for name in [
        "index.html",
        "history/index.html",
        "history.rss",
        "history.atom",
        "widget/banner.js",
        "api/v1/banner.json",
        "api/v2/summary.json",
        "api/v2/scheduled-maintenances/active.json",
        f"incidents/{incident.public_id}/index.html",
        "static/statuspage/status.css",
        "static/statuspage/status.js",
        "badge.svg",
        f"badges/{incident.components.get().public_id}/uptime.svg",
    ]:
        assert (snapshot_dir / name).is_file(), name
    assert feedparser.parse((snapshot_dir / "history.atom").read_bytes()).bozo == 0


def test_snapshot_json_is_the_live_json_plus_when_it_was_generated(client, snapshot_dir):
    open_outage_at(NOW)
    with time_machine.travel(NOW + timedelta(minutes=1), tick=False):
        publish()
        live = client.get("/api/v2/summary.json").json()
    copied = json.loads((snapshot_dir / "api/v2/summary.json").read_text())
    assert copied.pop("generated_at") == "2026-11-27T01:01:00.000Z"
    assert copied == live


def test_snapshot_page_is_the_live_page(client, snapshot_dir):
    open_outage_at(NOW)
    with time_machine.travel(NOW + timedelta(minutes=1), tick=False):
        publish()
        live = client.get("/").content
    assert (snapshot_dir / "index.html").read_bytes() == live


def test_publishing_switches_a_symlink_atomically_and_keeps_two_versions(snapshot_dir):
    make_component()
    versions = [publish(now=NOW + timedelta(minutes=n)) for n in range(4)]
    assert snapshot_dir.is_symlink()
    assert snapshot_dir.resolve() == versions[-1].resolve()
    kept = sorted(p.name for p in versions[-1].parent.iterdir())
    assert kept == [versions[-2].name, versions[-1].name]


def test_a_real_directory_in_the_way_is_refused_with_a_clear_message(snapshot_dir):
    snapshot_dir.mkdir()
    with pytest.raises(SnapshotError, match="real directory"):
        publish()


def test_the_publisher_writes_on_change_and_at_least_every_minute(snapshot_dir):
    component = make_component()
    publisher = Publisher()
    assert publisher(NOW) is True
    assert publisher(NOW + timedelta(seconds=5)) is False, "nothing changed"
    component.set_status("major_outage")
    assert publisher(NOW + timedelta(seconds=10)) is True, "a status changed"
    assert publisher(NOW + timedelta(seconds=15)) is False
    assert publisher(NOW + timedelta(seconds=71)) is True, "a minute passed"


def test_the_copy_banner_is_renewed_well_before_it_expires(snapshot_dir, settings):
    settings.STATUSPAGE = {**settings.STATUSPAGE, "BANNER_TTL_SECONDS": 60}
    make_component()
    publisher = Publisher()
    assert publisher(NOW) is True
    assert publisher(NOW + timedelta(seconds=29)) is False
    with time_machine.travel(NOW + timedelta(seconds=30), tick=False):
        assert publisher(NOW + timedelta(seconds=30)) is True, "half the banner's lifetime"
    banner = json.loads((snapshot_dir / "api/v1/banner.json").read_text())
    assert banner["valid_until"] == "2026-11-27T01:01:30.000Z"


def test_the_publisher_is_off_without_a_directory(settings):
    settings.STATUS_SNAPSHOT_DIR = ""
    assert Publisher()(NOW) is False


def test_publish_snapshot_command_publishes_on_demand(tmp_path):
    make_component()
    target = tmp_path / "copy"
    call_command("publish_snapshot", "--dir", str(target))
    assert json.loads((target / "api/v2/status.json").read_text())["status"]["indicator"] == "none"


def test_a_failed_publication_is_retried_on_the_next_run(snapshot_dir):
    make_component()
    publisher = Publisher()
    snapshot_dir.mkdir()
    assert publisher(NOW) is True
    assert not (snapshot_dir / "index.html").exists(), "refused: a real directory in the way"
    snapshot_dir.rmdir()
    assert publisher(NOW + timedelta(seconds=5)) is True, "not throttled after a failure"
    assert (snapshot_dir / "index.html").is_file()
