"""History feeds: they parse cleanly in feedparser, carry each incident's timeline, keep
stable ids as incidents change, and are advertised in the page head."""

from __future__ import annotations

import feedparser
import pytest

from tests.clock import NOW
from tests.factories import open_outage_at, resolve_at

pytestmark = pytest.mark.django_db

FEEDS = ["/history.rss", "/history.atom"]


def parse(client, path):
    response = client.get(path)
    assert response.status_code == 200
    parsed = feedparser.parse(response.content)
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    return parsed


@pytest.mark.parametrize("path", FEEDS)
def test_feed_parses_without_bozo_and_lists_incidents_newest_first(client, resolved_incident, path):
    live = open_outage_at(NOW, name="Share upload", audience="share-app")
    parsed = parse(client, path)
    assert parsed.version in {"rss20", "atom10"}
    assert [e.link for e in parsed.entries] == [
        f"http://127.0.0.1:8000/incidents/{live.public_id}",
        f"http://127.0.0.1:8000/incidents/{resolved_incident.public_id}",
    ]
    assert parsed.entries[1].title == f"{resolved_incident.name} (Resolved)"


@pytest.mark.parametrize("path", FEEDS)
def test_feed_entry_carries_every_update_of_the_timeline(client, resolved_incident, path):
    [entry] = parse(client, path).entries
    summary = entry.summary
    for update in resolved_incident.updates.all():
        assert update.body.splitlines()[0] in summary
    assert summary.index("Resolved") < summary.index("Investigating"), "newest first"
    assert [t.term for t in entry.tags] == ["Follow app alerts"]


@pytest.mark.parametrize("path", FEEDS)
def test_feed_ids_stay_the_same_when_an_incident_is_updated(client, path):
    incident = open_outage_at(NOW)
    before = parse(client, path).entries[0]
    resolve_at(incident, NOW.replace(hour=4))
    after = parse(client, path).entries[0]
    assert after.id == before.id == f"http://127.0.0.1:8000/incidents/{incident.public_id}"
    assert after.title.endswith("(Resolved)") and before.title.endswith("(Investigating)")
    if path.endswith(".atom"):
        assert after.updated_parsed > before.updated_parsed


def test_feed_escapes_update_text_once_and_keeps_no_markup_from_staff(client):
    incident = open_outage_at(NOW)
    update = incident.updates.get()
    update.body = 'Fixed <script>alert(1)</script> & "done"'
    update.save()
    [entry] = parse(client, "/history.atom").entries
    assert "<script>" not in entry.summary
    assert "&lt;script&gt;" in entry.summary


@pytest.mark.parametrize("path", FEEDS)
def test_feeds_are_cacheable_by_any_origin_with_304(client, resolved_incident, path):
    first = client.get(path)
    assert first["Access-Control-Allow-Origin"] == "*"
    assert client.get(path, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304


def test_status_page_advertises_both_feeds(client):
    page = client.get("/").content.decode()
    assert '<link rel="alternate" type="application/rss+xml"' in page
    assert 'href="/history.rss"' in page and 'href="/history.atom"' in page


@pytest.mark.parametrize("suffix", ["rss", "atom"])
def test_a_component_feed_lists_only_that_component_incidents(client, suffix):
    follow = open_outage_at(NOW)
    open_outage_at(NOW, name="Share upload", audience="share-app")
    component = follow.components.get()
    parsed = parse(client, f"/components/{component.public_id}/history.{suffix}")
    assert [e.link for e in parsed.entries] == [
        f"http://127.0.0.1:8000/incidents/{follow.public_id}"
    ]
    assert parsed.feed.title.startswith("Follow app alerts · ")


def test_component_feeds_are_offered_on_the_page_and_unknown_ones_are_404(client):
    incident = open_outage_at(NOW)
    component = incident.components.get()
    html = client.get("/").content.decode()
    assert f'href="/components/{component.public_id}/history.atom"' in html
    assert client.get("/components/nope/history.atom").status_code == 404
