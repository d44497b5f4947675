"""Support staff read the admin's delivery list with subscribers' addresses masked and
cannot search by address; staff allowed to view subscribers see them whole."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from incidents.roles import ensure_roles
from notifiers.models import Delivery
from notifiers.subscribers import masked_address
from tests.clock import NOW
from tests.factories import subscribe, user_in

pytestmark = pytest.mark.django_db

EMAIL = "reader.private@example.org"
PHONE = "+14155550101"


@pytest.fixture
def deliveries():
    for channel, address in (("email", EMAIL), ("sms", PHONE)):
        subscriber = subscribe(channel, address)
        Delivery.objects.create(
            channel=channel,
            target=address,
            subscriber=subscriber,
            next_attempt_at=NOW,
            created_at=NOW,
        )
    Delivery.objects.create(
        channel="push", target="follow-app-status", next_attempt_at=NOW, created_at=NOW
    )
    return list(Delivery.objects.order_by("id"))


def test_masks_keep_enough_to_recognise_not_to_read():
    assert masked_address("email", EMAIL) == "r•••@example.org"
    assert masked_address("sms", PHONE) == "+14•••••••01"
    assert masked_address("webhook", "https://hooks.example/x") == "http•••"


def test_support_staff_see_masked_addresses_in_the_list_and_the_detail(client, deliveries):
    ensure_roles()
    client.force_login(user_in("Support staff", "sam", is_staff=True))
    page = client.get("/admin/notifiers/delivery/").content.decode()
    assert EMAIL not in page and PHONE not in page
    assert "r•••@example.org" in page and "+14•••••••01" in page
    assert "follow-app-status" in page, "a topic is not personal"
    detail = client.get(f"/admin/notifiers/delivery/{deliveries[0].pk}/change/")
    assert detail.status_code == 200
    assert EMAIL not in detail.content.decode()
    search = client.get("/admin/notifiers/delivery/", {"q": EMAIL}).content.decode()
    assert "0 deliveries" in search or "r•••@example.org" not in search


def test_staff_who_may_view_subscribers_see_whole_addresses(client, deliveries):
    client.force_login(User.objects.create_superuser("root", password="pw-for-tests-only"))
    page = client.get("/admin/notifiers/delivery/").content.decode()
    assert EMAIL in page and PHONE in page
