"""Fixtures for the notifier tests: the clock at NOW, fast settings, a component.

The builders they call (make_incident, add_update, subscribe) are in tests.factories."""

from __future__ import annotations

import pytest
import requests
import time_machine

from tests.clock import NOW
from tests.factories import make_component


@pytest.fixture(autouse=True)
def starting_at_now():
    """Every notifier test starts at NOW (and the clock runs on from there), whatever
    today's date: retries, backoff and coalescing are judged against the times tests name,
    and rows written at the current time are due when a test moves to NOW plus a few
    minutes."""
    with time_machine.travel(NOW, tick=True):
        yield


@pytest.fixture(autouse=True)
def notifier_settings(settings, sandbox):
    """Callbacks go nowhere (the discard port) unless a test serves the site; SMS fast."""
    settings.STATUSPAGE = {
        **settings.STATUSPAGE,
        "URL": "http://127.0.0.1:9",
        "NAME": "Acme Status",
    }
    settings.TWILIO = {**settings.TWILIO, "SMS_PER_SECOND": 1000.0}
    settings.NOTIFIERS = {**settings.NOTIFIERS, "SEND_SLICE_SECONDS": 30.0}
    requests.delete(f"{sandbox.url}/_sandbox/twilio/opt-outs", timeout=5)
    return settings


@pytest.fixture
def component(db):
    return make_component("Follow app alerts", advice="Check glucose with a meter.")
