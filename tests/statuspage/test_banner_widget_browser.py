"""The banner widget in a web app on another origin, in headless Chromium: it shows the
outage, says "status unknown" when our server is stopped or its answer is past valid_until,
and clears itself on recovery."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
import time_machine
from playwright.sync_api import expect

from incidents.response import workflow
from statuspage import clock
from tests.factories import open_outage_at
from tests.statuspage.servers import Proxy, host_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def proxy(live_server):
    server = Proxy(live_server.url).start()
    yield server
    server.stop()


def app_page(proxy: Proxy, interval: float = 1):
    html = (
        "<!doctype html><html><head><title>Follow app</title></head><body>"
        "<h1>Follow app</h1>"
        f'<script src="{proxy.url}/widget/banner.js" data-audience="follow-app" '
        f'data-interval="{interval}"></script></body></html>'
    )
    return host_page(html)


def test_widget_shows_outage_then_unknown_when_server_stops_then_clears(proxy, page):
    incident = open_outage_at(clock.now())
    app = app_page(proxy)
    try:
        page.goto(app.url)
        banner = page.locator("#statuspage-banner")
        expect(banner).to_have_attribute("data-state", "incident")
        expect(banner).to_have_attribute("data-severity", "critical")
        expect(banner.locator(".statuspage-banner-title")).to_have_text("Service problem")
        expect(banner.locator(".statuspage-banner-advice")).to_have_text(
            "Check glucose with a meter."
        )
        assert (
            banner.locator("a").get_attribute("href").endswith(f"/incidents/{incident.public_id}")
        )

        proxy.stop()
        expect(banner).to_have_attribute("data-state", "unknown", timeout=10_000)
        expect(banner.locator(".statuspage-banner-title")).to_have_text("Status unknown")

        workflow.resolve(incident, clock.now())
        proxy.start()
        expect(page.locator("#statuspage-banner")).to_have_count(0, timeout=10_000)
    finally:
        app.stop()


def advance_until(page, banner, state: str, limit_seconds: int = 180) -> None:
    """Run the page's fake clock a second at a time until the banner reaches `state`; the
    widget's fetches are real, so each step leaves them time to land."""
    for _ in range(limit_seconds):
        if banner.get_attribute("data-state") == state:
            return
        page.clock.run_for(1000)
        page.wait_for_timeout(30)
    raise AssertionError(f"banner never became {state!r}: {banner.get_attribute('data-state')}")


def test_widget_says_unknown_when_a_stale_cache_serves_an_expired_answer(proxy, page):
    open_outage_at(clock.now())
    app = app_page(proxy, interval=5)
    try:
        page.clock.install()
        page.goto(app.url)
        banner = page.locator("#statuspage-banner")
        expect(banner).to_have_attribute("data-state", "incident")

        proxy.frozen = True
        advance_until(page, banner, "unknown")
        browser_now = page.evaluate("Date.now()") / 1000
        [stale] = [
            json.loads(body)
            for path, (_, _, body) in proxy.remembered.items()
            if path.startswith("/api/v1/banner.json")
        ]
        valid_until = datetime.fromisoformat(stale["valid_until"]).timestamp()
        assert proxy.replays > 0, "the stale answers kept arriving: the fetches succeeded"
        assert valid_until <= browser_now < valid_until + 3, "unknown right at valid_until"

        # The cache serves fresh answers again; the server's clock agrees with the browser's.
        at = datetime.fromtimestamp(browser_now, UTC)
        with time_machine.travel(at, tick=True):
            proxy.frozen = False
            advance_until(page, banner, "incident", limit_seconds=20)
    finally:
        app.stop()


def test_widget_stays_out_of_the_way_when_all_is_well(proxy, page):
    from tests.factories import make_component

    make_component()
    app = app_page(proxy)
    try:
        page.goto(app.url)
        page.wait_for_function(
            "() => window.performance.getEntriesByType('resource')"
            ".some(e => e.name.includes('banner.json'))"
        )
        expect(page.locator("#statuspage-banner")).to_have_count(0)
        assert page.locator("h1").inner_text() == "Follow app"
    finally:
        app.stop()
