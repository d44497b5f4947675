"""Timed fault windows in the sandbox: "down for 30 s from now" ends by itself, on the
sandbox's clock (moved with time-machine, never slept through), and the phones page
shows what is being injected."""

from __future__ import annotations

import pytest
import requests
import time_machine
from twilio.base.exceptions import TwilioRestException

from notifiers.channels.sms import twilio_client
from tests.clock import NOW


def set_fault(sandbox, **profile) -> requests.Response:
    return requests.post(f"{sandbox.url}/_sandbox/faults", json=profile, timeout=5)


def text(body: str = "x") -> str:
    client, _ = twilio_client()
    return client.messages.create(to="+14155550101", body=body, messaging_service_sid="MG1").sid


def refused(body: str = "x") -> int:
    with pytest.raises(TwilioRestException) as error:
        text(body)
    return error.value.status


def test_an_outage_set_for_30_seconds_ends_by_itself(sandbox):
    with time_machine.travel(NOW, tick=False) as traveller:
        assert set_fault(sandbox, provider="twilio", outage=True, duration_s=30).ok
        assert refused("during") == 503
        traveller.shift(29.9)
        assert refused("still during") == 503
        traveller.shift(0.1)
        assert text("after")
    assert [r["payload"]["Body"] for r in sandbox.recorder.list(provider="twilio")] == ["after"]
    assert sandbox.faults.snapshot()["profiles"] == {}


def test_an_outage_window_can_start_later(sandbox):
    with time_machine.travel(NOW, tick=False) as traveller:
        set_fault(
            sandbox, provider="twilio", outage=True, error_status=500, delay_s=60, duration_s=30
        )
        assert text("before")
        traveller.shift(60)
        assert refused() == 500
        traveller.shift(30)
        assert text("after")


def test_an_untimed_fault_lasts_until_cleared(sandbox):
    with time_machine.travel(NOW, tick=False) as traveller:
        set_fault(sandbox, provider="twilio", outage=True)
        traveller.shift(86400)
        assert refused() == 503


def test_the_fault_api_reports_the_window_and_refuses_a_bad_one(sandbox):
    with time_machine.travel(NOW, tick=False):
        profiles = set_fault(sandbox, provider="twilio", outage=True, duration_s=30).json()[
            "profiles"
        ]
    assert profiles["twilio"]["active"] is True
    assert profiles["twilio"]["ends_at"] == "2026-11-27T01:00:30+00:00"
    for bad in ({"duration_s": 0}, {"delay_s": -1}, {"duration_s": "30"}):
        answer = set_fault(sandbox, provider="twilio", outage=True, **bad)
        assert answer.status_code == 400, bad


def test_the_phones_page_shows_the_faults_in_force(sandbox):
    with time_machine.travel(NOW, tick=False) as traveller:
        set_fault(sandbox, provider="twilio", outage=True, duration_s=30)
        set_fault(sandbox, provider="sendgrid", latency_ms=200, error_rate=0.5, delay_s=10)
        page = requests.get(sandbox.url, timeout=5).text
        assert "Faults injected" in page
        assert "<b>twilio</b>: outage (503); until 01:00:30 UTC" in page
        assert (
            "<b>sendgrid</b>: 50% of requests fail (503), 200 ms latency; from 01:00:10 UTC, until cleared"
            in page
        )
        traveller.shift(30)
        page = requests.get(sandbox.url, timeout=5).text
    assert "<b>twilio</b>" not in page and "<b>sendgrid</b>" in page


def test_the_phones_page_has_no_fault_list_when_nothing_is_injected(sandbox):
    assert "Faults injected" not in requests.get(sandbox.url, timeout=5).text
