"""SMS pumping: texts go to mobiles only, each client (an IPv6 /64 counts as one) gets a few
confirmation codes an hour, and past the site's hourly budget SMS sign-up pauses with a clear
message while staff see why in the console's alerts."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine

from incidents.console.alerts import staff_alerts
from notifiers.models import Delivery
from notifiers.subscribers import Subscriber
from tests.clock import NOW

pytestmark = pytest.mark.django_db
PAUSED = "Sign-up by text message is paused for a while"


@pytest.mark.parametrize(
    ("phone", "message"),
    [
        ("+1 900 555 1234", "Premium-rate numbers cannot subscribe."),
        ("+44 909 123 4567", "Premium-rate numbers cannot subscribe."),
        ("+44 871 234 5678", "Premium-rate numbers cannot subscribe."),
        ("+33 8 99 12 34 56", "Premium-rate numbers cannot subscribe."),
        ("+49 900 1 234567", "Premium-rate numbers cannot subscribe."),
        ("+31 909 123 4567", "Premium-rate numbers cannot subscribe."),
        ("+353 1570 123456", "Premium-rate numbers cannot subscribe."),
        ("+1 800 555 0199", "Toll-free numbers cannot receive texts."),
        ("+44 20 7946 0000", "This is a landline number."),
    ],
)
def test_numbers_that_are_not_mobiles_are_refused_with_a_clear_error(client, phone, message):
    answer = client.post("/subscribe/", {"channel": "sms", "phone": phone})
    assert answer.status_code == 400
    assert message in answer.content.decode()
    assert not Subscriber.objects.exists()
    assert not Delivery.objects.exists()


@pytest.mark.parametrize("phone", ["+1 415 555 0123", "+44 7400 123456", "+33 6 12 34 56 78"])
def test_mobiles_and_numbers_a_country_cannot_tell_apart_are_accepted(client, phone):
    assert client.post("/subscribe/", {"channel": "sms", "phone": phone}).status_code == 302


def sms_budget(settings, per_client: int, site: int) -> None:
    settings.RATE_LIMITS = {
        **settings.RATE_LIMITS,
        "sms": {"PER_IP": per_client, "PER_DESTINATION": site, "WINDOW_SECONDS": 3600},
    }


def test_one_ipv6_slash_64_gets_its_few_codes_an_hour(client, settings):
    sms_budget(settings, per_client=2, site=100)
    statuses = [
        client.post(
            "/subscribe/",
            {"channel": "sms", "phone": f"+1 415 555 01{n:02}"},
            REMOTE_ADDR=f"2001:db8:1:2::{n + 1:x}",
        ).status_code
        for n in range(3)
    ]
    assert statuses == [302, 302, 429]
    elsewhere = client.post(
        "/subscribe/", {"channel": "sms", "phone": "+1 415 555 0199"}, REMOTE_ADDR="2001:db8:1:3::1"
    )
    assert elsewhere.status_code == 302
    assert Delivery.objects.count() == 3


def test_past_the_site_budget_sms_sign_up_pauses_and_staff_are_told(client, settings):
    sms_budget(settings, per_client=5, site=3)
    for n in range(3):
        client.post(
            "/subscribe/",
            {"channel": "sms", "phone": f"+1 415 555 01{n:02}"},
            REMOTE_ADDR=f"192.0.2.{n + 1}",
        )
        spent = [a for a in staff_alerts() if a.kind == "sms_paused"]
        assert bool(spent) == (n == 2)
    paused = client.post(
        "/subscribe/", {"channel": "sms", "phone": "+1 415 555 0150"}, REMOTE_ADDR="198.51.100.9"
    )
    assert paused.status_code == 503
    assert PAUSED in paused.content.decode()
    assert not Subscriber.objects.filter(address="+14155550150").exists()
    assert Delivery.objects.count() == 3
    [alert] = [a for a in staff_alerts() if a.kind == "sms_paused"]
    assert "budget of 3 confirmation texts an hour is spent" in alert.message
    email = {"channel": "email", "email": "parent@example.org"}
    assert client.post("/subscribe/", email, REMOTE_ADDR="198.51.100.9").status_code == 200

    with time_machine.travel(NOW + timedelta(hours=1, minutes=1)):
        again = client.post(
            "/subscribe/",
            {"channel": "sms", "phone": "+1 415 555 0150"},
            REMOTE_ADDR="198.51.100.9",
        )
        assert again.status_code == 302
        assert not [a for a in staff_alerts() if a.kind == "sms_paused"]
