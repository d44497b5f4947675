"""The management API's subscribers: list with filters and pages, add with the public form's
rules, import pre-confirmed only with consent, unsubscribe; admins only."""

from __future__ import annotations

import pytest

from notifiers.models import Delivery
from notifiers.subscribers import Subscriber
from statuspage.models import Audience
from tests.clock import NOW
from tests.factories import make_component, subscribe
from tests.incidents.api_calls import caller

pytestmark = pytest.mark.django_db

CONSENT = {
    "by": "the subscriber, on the clinic's intake form",
    "text": "Text me when the Follow service is down.",
    "at": "2026-11-01T09:00:00Z",
    "source": "Clinic network intake, November",
}


@pytest.fixture
def admin_api(client, admin_role_user):
    return caller(client, admin_role_user)


@pytest.fixture
def support_api(client, support_user):
    return caller(client, support_user)


def test_support_staff_may_not_list_or_add_subscribers(support_api):
    assert support_api("get", "subscribers").status_code == 403
    added = support_api(
        "post", "subscribers", {"subscriber": {"channel": "email", "address": "a@example.org"}}
    )
    assert added.status_code == 403
    assert not Subscriber.objects.exists()


def test_a_subscriber_added_unconfirmed_gets_the_confirmation_the_page_sends(admin_api):
    added = admin_api(
        "post", "subscribers", {"subscriber": {"channel": "email", "address": "Rae@Example.org"}}
    )
    assert added.status_code == 201, added.json()
    [item] = added.json()["subscribers"]
    assert item["address"] == "rae@example.org" and item["state"] == "pending"
    confirmation = Delivery.objects.get(subscriber__address="rae@example.org")
    assert confirmation.announcement_id is None and confirmation.state == "pending"


def test_a_pre_confirmed_import_records_the_consent_and_sends_nothing(admin_api):
    component = make_component()
    imported = admin_api(
        "post",
        "subscribers",
        {
            "subscribers": [
                {
                    "channel": "sms",
                    "address": "+1 500 555 0006",
                    "pre_confirmed": True,
                    "consent": CONSENT,
                    "component_ids": [component.public_id],
                    "language": "es",
                },
                {
                    "channel": "email",
                    "address": "lee@example.org",
                    "pre_confirmed": True,
                    "consent": CONSENT,
                },
            ]
        },
    )
    assert imported.status_code == 201, imported.json()
    sms, email = imported.json()["subscribers"]
    assert sms["state"] == "active" and sms["address"] == "+15005550006"
    assert sms["component_ids"] == [component.public_id] and sms["language"] == "es"
    assert sms["consent"]["source"] == CONSENT["source"]
    assert sms["consent"]["imported_by"] == "ada"
    stored = Subscriber.objects.get(address="lee@example.org")
    assert stored.is_active and stored.consent_by == CONSENT["by"]
    assert not Delivery.objects.exists()


def test_pre_confirmed_without_consent_is_refused_and_nothing_is_imported(admin_api):
    response = admin_api(
        "post",
        "subscribers",
        {
            "subscribers": [
                {"channel": "email", "address": "ok@example.org"},
                {"channel": "email", "address": "x@example.org", "pre_confirmed": True},
                {
                    "channel": "email",
                    "address": "y@example.org",
                    "pre_confirmed": True,
                    "consent": {"by": "", "text": "yes", "at": "2999-01-01T00:00:00Z"},
                },
            ]
        },
    )
    assert response.status_code == 400
    fields = response.json()["fields"]
    assert set(fields) == {
        "subscribers[1].consent",
        "subscribers[2].consent.by",
        "subscribers[2].consent.source",
        "subscribers[2].consent.at",
    }
    assert not Subscriber.objects.exists()


def test_addresses_are_checked_by_the_public_forms_rules(admin_api, monkeypatch):
    response = admin_api(
        "post",
        "subscribers",
        {
            "subscribers": [
                {"channel": "sms", "address": "+1 800 555 0100"},
                {"channel": "sms", "address": "+44 20 7946 0000"},
                {"channel": "email", "address": "not an address"},
                {"channel": "webhook", "address": "https://10.0.0.8/hook"},
                {"channel": "fax", "address": "x"},
            ]
        },
    )
    assert response.status_code == 400
    fields = response.json()["fields"]
    assert "Toll-free" in fields["subscribers[0].address"]
    assert "subscribers[1].address" in fields
    assert "subscribers[2].address" in fields
    assert "public host" in fields["subscribers[3].address"]
    assert fields["subscribers[4].channel"].startswith("One of:")


def test_an_existing_subscriber_is_not_added_twice(admin_api):
    subscribe("email", "rae@example.org")
    response = admin_api(
        "post", "subscribers", {"subscriber": {"channel": "email", "address": "rae@example.org"}}
    )
    assert response.status_code == 400
    assert "Already a subscriber" in response.json()["fields"]["subscriber.address"]


def test_a_webhook_added_gets_its_signing_secret_once(admin_api, sandbox):
    added = admin_api(
        "post",
        "subscribers",
        {"subscriber": {"channel": "webhook", "address": f"{sandbox.url}/_sandbox/hooks/x"}},
    )
    assert added.status_code == 201, added.json()
    [item] = added.json()["subscribers"]
    assert len(item["signing_secret"]) == 64
    again = admin_api("get", f"subscribers/{item['id']}").json()
    assert "signing_secret" not in again


def test_the_list_filters_by_channel_state_and_component_in_pages(
    admin_api, django_assert_max_num_queries
):
    alerts, upload = make_component(), make_component("Share upload", audience_slug=None)
    for n in range(5):
        subscribe("email", f"p{n}@example.org", components=[alerts])
    subscribe("email", "pending@example.org", confirmed=False)
    subscribe("sms", "+15005550006", components=[upload])
    gone = subscribe("email", "gone@example.org")
    gone.suppress("bounce", NOW)
    gone.save()
    with django_assert_max_num_queries(8):
        first = admin_api("get", "subscribers", channel="email", state="active", per_page="3")
    body = first.json()
    assert body["total"] == 5 and len(body["subscribers"]) == 3 and body["next_page"] == 2
    second = admin_api(
        "get", "subscribers", channel="email", state="active", per_page="3", page="2"
    ).json()
    assert len(second["subscribers"]) == 2 and second["next_page"] is None
    following = admin_api("get", "subscribers", component=upload.public_id).json()
    # Everyone following all components, and the one following Share upload.
    assert {s["address"] for s in following["subscribers"]} == {
        "pending@example.org",
        "+15005550006",
        "gone@example.org",
    }
    suppressed = admin_api("get", "subscribers", state="suppressed").json()
    assert [s["suppression"] for s in suppressed["subscribers"]] == ["bounce"]
    bad = admin_api("get", "subscribers", state="asleep", per_page="0")
    assert bad.status_code == 400 and set(bad.json()["fields"]) == {"state", "per_page"}


def test_query_count_does_not_grow_with_the_page(admin_api, django_assert_max_num_queries):
    component = make_component()
    for n in range(30):
        subscribe("email", f"p{n}@example.org", components=[component])
    with django_assert_max_num_queries(8):
        assert len(admin_api("get", "subscribers").json()["subscribers"]) == 30


def test_unsubscribe_keeps_the_record_and_delete_removes_it(admin_api, support_api):
    item = subscribe("email", "rae@example.org")
    assert support_api("post", f"subscribers/{item.public_id}/unsubscribe").status_code == 403
    response = admin_api("post", f"subscribers/{item.public_id}/unsubscribe")
    assert response.status_code == 200 and response.json()["state"] == "suppressed"
    item.refresh_from_db()
    assert item.suppression == "unsubscribed" and not item.is_active
    assert admin_api("get", "subscribers/not-a-uuid").status_code == 404
    assert admin_api("put", f"subscribers/{item.public_id}", {}).status_code == 405
    assert admin_api("delete", f"subscribers/{item.public_id}").status_code == 204
    assert not Subscriber.objects.exists()
    assert admin_api("get", f"subscribers/{item.public_id}").status_code == 404


def test_a_subscriber_added_here_may_not_follow_a_private_component(admin_api):
    clinic = Audience.objects.create(slug="clinic", name="Clinic", push_topic="clinic-status")
    private = make_component("Clinic sign-in", audience_slug=None)
    private.private_to.add(clinic)
    response = admin_api(
        "post",
        "subscribers",
        {
            "subscriber": {
                "channel": "email",
                "address": "rae@example.org",
                "component_ids": [private.public_id],
            }
        },
    )
    assert response.status_code == 400
    assert "private" in response.json()["fields"]["subscriber.component_ids"]
