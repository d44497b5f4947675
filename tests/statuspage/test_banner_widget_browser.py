"""The banner widget in a web app on another origin, in headless Chromium: it shows the
outage, says "status unknown" when our server is stopped or its answer is past valid_until,
and clears itself on recovery."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from playwright.sync_api import expect

from incidents import workflow
from statuspage import clock
from tests.statuspage.conftest import open_outage_at
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
        assert banner.locator("a").get_attribute("href").endswith(
            f"/incidents/{incident.public_id}"
        )

        proxy.stop()
        expect(banner).to_have_attribute("data-state", "unknown", timeout=10_000)
        expect(banner.locator(".statuspage-banner-title")).to_have_text("Status unknown")

        workflow.resolve(incident, clock.now())
        proxy.start()
        expect(page.locator("#statuspage-banner")).to_have_count(0, timeout=10_000)
    finally:
        app.stop()


def test_widget_says_unknown_when_a_stale_cache_serves_an_expired_answer(proxy, page):
    open_outage_at(clock.now())
    app = app_page(proxy, interval=5)
    try:
        page.clock.install()
        page.goto(app.url)
        banner = page.locator("#statuspage-banner")
        expect(banner).to_have_attribute("data-state", "incident")

        proxy.frozen = True
        page.clock.fast_forward("02:00")
        expect(banner).to_have_attribute("data-state", "unknown")

        proxy.frozen = False
        page.clock.set_system_time(datetime.now(timezone.utc))
        page.clock.fast_forward(6_000)
        expect(banner).to_have_attribute("data-state", "incident")
    finally:
        app.stop()


def test_widget_stays_out_of_the_way_when_all_is_well(proxy, page):
    from tests.factories import make_component

    make_component()
    app = app_page(proxy)
    try:
        page.goto(app.url)
        page.wait_for_function("() => window.performance.getEntriesByType('resource')"
                               ".some(e => e.name.includes('banner.json'))")
        expect(page.locator("#statuspage-banner")).to_have_count(0)
        assert page.locator("h1").inner_text() == "Follow app"
    finally:
        app.stop()
