"""The static copy served by a plain static file server renders the same page as the app."""

from __future__ import annotations

import functools
from http.server import SimpleHTTPRequestHandler

import pytest

from statuspage import clock
from statuspage.public.snapshot import publish
from tests.factories import open_outage_at
from tests.statuspage.servers import Background

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


class QuietFiles(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


def visible_page(page) -> dict:
    return {
        "overall": page.locator("#overall-status").inner_text(),
        "components": page.locator(".component-head").all_inner_texts(),
        "incidents": page.locator(".incident h3").all_inner_texts(),
        "bars": page.locator(".uptime-bars > li").count(),
        "timeline": page.locator(".update-body").all_inner_texts(),
        "styled": page.evaluate("getComputedStyle(document.querySelector('.overall')).color"),
    }


def test_static_copy_renders_the_same_page_as_the_live_site(live_server, page, tmp_path):
    incident = open_outage_at(clock.now())
    target = tmp_path / "public"
    publish(target)
    files = Background(functools.partial(QuietFiles, directory=str(target.resolve()))).start()
    try:
        page.goto(live_server.url)
        live = visible_page(page)
        page.goto(files.url)
        copied = visible_page(page)
        assert copied == live
        assert copied["overall"] == "Major System Outage"
        assert copied["styled"] == "rgb(255, 255, 255)", "the stylesheet came from the copy"

        page.click(f"[data-incident='{incident.public_id}'] h3 a")
        assert page.locator("h1").inner_text() == incident.name
        assert page.url.startswith(files.url)
    finally:
        files.stop()
