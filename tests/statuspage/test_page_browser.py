"""The status page as a person sees it, in headless Chromium."""

from datetime import timedelta

import pytest

from incidents.response import workflow
from statuspage import clock
from statuspage.models import ProbeState, Verdict
from statuspage.picture.uptime import rollup
from tests.factories import make_component, make_probe, open_outage_at

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def open_outage():
    component = make_component()
    make_component("Share upload", audience_slug="share-app", advice="")
    probe = make_probe(component, "http://127.0.0.1:1/health")
    probe.state = ProbeState.DOWN
    probe.first_failure_at = clock.now() - timedelta(seconds=20)
    probe.save()
    return workflow.handle_verdict(probe, Verdict.CONFIRMED_DOWN, clock.now())


def test_status_page_shows_the_outage(live_server, page):
    incident = open_outage()
    page.goto(live_server.url)
    assert page.locator("#overall-status").inner_text() == "Major System Outage"
    card = page.locator(f"[data-incident='{incident.public_id}']")
    assert card.locator("h3").inner_text() == "Follow app alerts is not working as expected"
    assert "Check glucose with a meter." in card.inner_text()
    row = page.locator(".component", has_text="Follow app alerts")
    assert row.locator(".component-status").inner_text() == "Major outage"
    assert "Check glucose with a meter." in row.locator(".advice").inner_text()
    share = page.locator(".component", has_text="Share upload")
    assert share.locator(".component-status").inner_text() == "Operational"
    colour = "el => getComputedStyle(el).color"
    down = row.locator(".component-status").evaluate(colour)
    up = share.locator(".component-status").evaluate(colour)
    assert down != up, "an operational component in a broken group must not look broken"


def test_status_page_is_green_when_all_is_well(live_server, page):
    make_component()
    page.goto(live_server.url)
    assert page.locator("#overall-status").inner_text() == "All Systems Operational"
    assert page.locator(".incident").count() == 0


def open_context_page(browser, **options):
    context = browser.new_context(**options)
    return context, context.new_page()


def test_each_component_shows_ninety_bars_and_a_day_tooltip_on_focus(live_server, page):
    incident = open_outage()
    today = clock.now().date()
    rollup(today, today, clock.now())
    page.goto(live_server.url)
    for row in page.locator(".component").all():
        assert row.locator(".uptime-bars > li").count() == 90
    today = page.locator(".component", has_text="Follow app alerts").locator(".bar").last
    assert "day-major_outage" in today.get_attribute("class")
    today.focus()
    tip = today.evaluate("bar => getComputedStyle(bar, '::after').content")
    assert "% uptime" in tip
    assert incident.name in tip
    today.blur()
    assert today.evaluate("bar => getComputedStyle(bar, '::after').content") == "none"


def test_dark_mode_follows_the_reader_preference(live_server, browser):
    make_component()
    for scheme, background in [("dark", "rgb(13, 17, 23)"), ("light", "rgb(247, 248, 250)")]:
        context, tab = open_context_page(browser, color_scheme=scheme)
        tab.goto(live_server.url)
        assert tab.evaluate("getComputedStyle(document.body).backgroundColor") == background
        context.close()


def test_times_are_shown_in_the_reader_time_zone(live_server, browser):
    incident = open_outage()
    context, tab = open_context_page(browser, timezone_id="Asia/Tokyo", locale="en-US")
    tab.goto(f"{live_server.url}/incidents/{incident.public_id}")
    stamp = tab.locator(".update time").first
    iso = stamp.get_attribute("datetime")
    expected = tab.evaluate(
        "iso => new Intl.DateTimeFormat('en', {dateStyle: 'medium', timeStyle: 'short'})"
        ".format(new Date(iso))",
        iso,
    )
    assert stamp.inner_text() == expected
    assert "UTC" not in stamp.inner_text()
    context.close()


def test_the_page_updates_itself_without_a_reload(live_server, page):
    make_component()
    page.clock.install()
    page.goto(live_server.url)
    page.evaluate("window.stillTheSamePage = true")
    assert page.locator("#overall-status").inner_text() == "All Systems Operational"
    open_outage_at(clock.now())
    for _ in range(60):
        page.clock.run_for(1000)
        page.wait_for_timeout(30)
        if page.locator("#overall-status").inner_text() != "All Systems Operational":
            break
    assert page.locator("#overall-status").inner_text() == "Major System Outage"
    assert page.evaluate("window.stillTheSamePage") is True


def test_components_and_bars_are_reachable_by_keyboard(live_server, page):
    open_outage()
    page.goto(live_server.url)
    focused = []
    for _ in range(12):
        page.keyboard.press("Tab")
        focused.append(
            page.evaluate("document.activeElement.tagName + '.' + document.activeElement.className")
        )
    assert any(f.startswith("SUMMARY") for f in focused)
    assert any(f.startswith("LI.bar day-major_outage") for f in focused)


def test_a_spanish_browser_gets_the_page_and_its_dates_in_spanish(live_server, browser):
    incident = open_outage()
    context, tab = open_context_page(browser, locale="es-ES", timezone_id="Europe/Madrid")
    tab.goto(live_server.url)
    assert tab.locator("#overall-status").inner_text() == "Interrupción grave del sistema"
    assert tab.locator("#active-incidents").inner_text() == "Incidencias activas"
    row = tab.locator(".component", has_text="Follow app alerts")
    assert row.locator(".component-status").inner_text() == "Interrupción grave"
    tab.goto(f"{live_server.url}/incidents/{incident.public_id}")
    stamp = tab.locator(".update time").first
    expected = tab.evaluate(
        "iso => new Intl.DateTimeFormat('es', {dateStyle: 'medium', timeStyle: 'short'})"
        ".format(new Date(iso))",
        stamp.get_attribute("datetime"),
    )
    assert stamp.inner_text() == expected
    tab.click("a[hreflang='en']")
    assert tab.locator("html").get_attribute("lang") == "en"
    assert tab.locator("h1").inner_text() == incident.name
    context.close()


def contrast(tab, selector: str) -> float:
    """WCAG contrast ratio between an element's text and its background colour."""
    return tab.evaluate(
        """selector => {
        const el = document.querySelector(selector);
        const parse = c => c.match(/[\\d.]+/g).slice(0, 3).map(Number);
        const lum = rgb => { const [r, g, b] = rgb.map(v => { v /= 255;
            return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
            return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
        const s = getComputedStyle(el);
        const a = lum(parse(s.color)), b = lum(parse(s.backgroundColor));
        return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    }""",
        selector,
    )


def test_the_headline_keeps_readable_contrast_in_light_and_dark(live_server, browser):
    make_component()
    for scheme in ["light", "dark"]:
        for status in ["operational", "major_outage"]:
            from statuspage.models import Component

            Component.objects.update(status=status)
            context, tab = open_context_page(browser, color_scheme=scheme)
            tab.goto(live_server.url)
            assert contrast(tab, ".overall") >= 4.5, (scheme, status)
            context.close()


def test_the_first_tab_offers_a_skip_link_to_the_content(live_server, page):
    make_component()
    page.goto(live_server.url)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "status-main"


def test_last_checked_reads_seconds_ago_and_keeps_counting(live_server, page):
    component = make_component()
    probe = make_probe(component, "http://127.0.0.1:1/health")
    probe.last_checked_at = clock.now() - timedelta(seconds=12)
    probe.save()
    page.clock.install()
    page.goto(live_server.url)
    stamp = page.locator(".last-checked time")
    assert stamp.inner_text() in {"12 seconds ago", "13 seconds ago"}
    page.clock.run_for(60_000)
    assert stamp.inner_text() in {"1 minute ago", "2 minutes ago"}


def test_on_a_phone_the_page_fits_the_screen_and_shows_the_last_30_days(live_server, browser):
    incident = open_outage()
    context, tab = open_context_page(
        browser, viewport={"width": 375, "height": 740}, is_mobile=True, has_touch=True
    )
    for path in ["/", f"/incidents/{incident.public_id}", "/history"]:
        tab.goto(live_server.url + path)
        overflow = tab.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{path} scrolls sideways by {overflow}px"
    tab.goto(live_server.url)
    bars = tab.locator(".component").first.locator(".bar")
    visible = sum(1 for i in range(bars.count()) if bars.nth(i).is_visible())
    assert visible == 30
    legend = tab.locator(".component").first.locator(".uptime-legend")
    assert legend.inner_text().startswith("30 days ago")
    context.close()


def test_the_page_shows_maintenance_in_progress(live_server, page):
    from incidents.response import maintenance

    component = make_component()
    now = clock.now()
    window = maintenance.schedule(
        "Database upgrade",
        "",
        [component],
        now - timedelta(minutes=5),
        now + timedelta(hours=1),
        None,
        now,
    )
    maintenance.set_status(window, "in_progress", None, now)
    page.goto(live_server.url)
    card = page.locator(f"[data-maintenance='{window.public_id}']")
    assert card.locator("h3").inner_text() == "Database upgrade"
    assert card.locator(".maintenance-status").inner_text() == "In progress"
    assert "Follow app alerts" in card.locator(".incident-affects").inner_text()
