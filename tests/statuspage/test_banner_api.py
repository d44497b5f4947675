"""banner.json beyond the basics: revalidation, the "monitoring interrupted" answer, and the
script apps include."""

from __future__ import annotations

import pytest
import time_machine

from statuspage.picture.monitoring import MonitoringState
from statuspage.public.api import banner_payload
from tests.clock import NOW

pytestmark = pytest.mark.django_db


def test_banner_says_status_unknown_when_monitoring_is_interrupted():
    interrupted = MonitoringState(interrupted=True, since=NOW, last_cycle_at=NOW)
    answer = banner_payload(None, NOW, interrupted)
    assert answer["show"] is True and answer["status"] == "unknown"
    assert answer["title"] == "Status unknown: our monitoring is interrupted"
    assert "cannot confirm" in answer["text"]
    assert answer["updated_at"] == "2026-11-27T01:00:00.000Z"


def test_an_open_incident_outranks_the_unknown_state(live_outage):
    interrupted = MonitoringState(interrupted=True, since=NOW)
    answer = banner_payload(live_outage, NOW, interrupted)
    assert answer["status"] == "incident" and answer["severity"] == "critical"


def test_banner_revalidates_with_304_while_its_answer_is_unchanged(client, live_outage):
    with time_machine.travel(NOW, tick=False):
        first = client.get("/api/v1/banner.json", {"audience": "follow-app"})
        again = client.get(
            "/api/v1/banner.json", {"audience": "follow-app"}, HTTP_IF_NONE_MATCH=first["ETag"]
        )
    assert again.status_code == 304
    assert "max-age=10" in first["Cache-Control"] and "public" in first["Cache-Control"]


def test_banner_js_is_served_to_any_origin_as_javascript(client):
    response = client.get("/widget/banner.js")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/javascript; charset=utf-8"
    assert response["Access-Control-Allow-Origin"] == "*"
    script = response.content.decode()
    assert '"Status unknown"' in script
    assert "valid_until" in script and "innerHTML" not in script


def test_language_dependent_answers_tell_caches_to_vary_by_language(client, live_outage):
    for path in ["/api/v1/banner.json", "/widget/banner.js", "/badge.svg", "/history.atom"]:
        vary = client.get(path)["Vary"]
        assert "Accept-Language" in vary and "Cookie" in vary, path
    assert "Cookie" not in client.get("/api/v2/summary.json")["Vary"], "v2 is always English"


def test_polls_within_one_step_revalidate_to_304_even_when_all_is_well(client):
    from datetime import timedelta

    with time_machine.travel(NOW + timedelta(seconds=1.2), tick=False):
        first = client.get("/api/v1/banner.json")
    assert first.json()["valid_until"] == "2026-11-27T01:01:00.000Z"
    with time_machine.travel(NOW + timedelta(seconds=4.9), tick=False):
        again = client.get("/api/v1/banner.json", HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304
    with time_machine.travel(NOW + timedelta(seconds=5), tick=False):
        later = client.get("/api/v1/banner.json", HTTP_IF_NONE_MATCH=first["ETag"])
    assert later.status_code == 200
    assert later.json()["valid_until"] == "2026-11-27T01:01:05.000Z"
