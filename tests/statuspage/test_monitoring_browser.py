"""A person opening the page while the engine is silent sees "status unknown", not green."""

from datetime import timedelta

import pytest

from statuspage import clock
from statuspage.picture import monitoring
from tests.factories import make_component, make_probe

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def engine_last_beat(seconds_ago: float) -> None:
    make_probe(make_component(), "http://127.0.0.1:1/health")
    monitoring.record_cycle(clock.now() - timedelta(seconds=seconds_ago))


def test_page_says_status_unknown_when_the_engine_is_silent(live_server, page):
    engine_last_beat(120)
    page.goto(live_server.url)
    notice = page.locator("#monitoring-interrupted")
    assert notice.get_attribute("role") == "alert"
    assert "Status unknown: our monitoring is interrupted" in notice.inner_text()
    assert "Last confirmed check" in notice.inner_text()
    assert page.locator("#overall-status").inner_text() == "Status unknown: monitoring interrupted"


def test_page_has_no_notice_while_the_engine_beats(live_server, page):
    engine_last_beat(1)
    page.goto(live_server.url)
    assert page.locator("#monitoring-interrupted").count() == 0
    assert page.locator("#overall-status").inner_text() == "All Systems Operational"
