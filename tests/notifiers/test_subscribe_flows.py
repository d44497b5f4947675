"""Subscribing as a person does it: in Chromium, with the confirmation read from the
sandbox's inbox or phone; and the forms' validation, rate limits and signed links."""

from __future__ import annotations

import re

import pytest
from django.core import signing

from notifiers.channels.context import MANAGE_SALT, manage_token
from notifiers.subscribers import Subscriber
from tests.factories import make_component, subscribe

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def site(live_server, settings):
    settings.STATUSPAGE = {**settings.STATUSPAGE, "URL": live_server.url}
    return live_server.url


@pytest.mark.browser
def test_email_double_opt_in_from_the_sandbox_inbox(page, site, sandbox, task_queue):
    follow = make_component("Follow app alerts")
    make_component("Share upload", audience_slug=None)
    page.goto(f"{site}/subscribe/")
    page.get_by_label("Email address").fill("Parent@Example.org")
    page.get_by_label("Follow app alerts").check()
    page.get_by_role("button", name="Subscribe").click()
    page.get_by_role("heading", name="Check your inbox").wait_for()
    subscriber = Subscriber.objects.get(address="parent@example.org")
    assert subscriber.confirmed_at is None

    task_queue()
    [mail] = sandbox.recorder.list(provider="sendgrid", target="parent@example.org")
    link = re.search(r"(http://\S+/subscribe/email/\S+/)", mail["payload"]["text"]).group(1)
    page.goto(link)
    page.get_by_role("button", name="Yes, confirm").click()
    page.get_by_text("Subscribed: Email to parent@example.org").wait_for()

    subscriber.refresh_from_db()
    assert subscriber.is_active and not subscriber.all_components
    assert list(subscriber.components.all()) == [follow]


@pytest.mark.browser
def test_sms_subscription_confirmed_with_the_code_from_the_sandbox_phone(
    page, site, sandbox, task_queue
):
    make_component("Follow app alerts")
    page.goto(f"{site}/subscribe/")
    page.get_by_label("Text message").check()
    page.get_by_label("Mobile number").fill("(415) 555-0123")
    page.get_by_role("button", name="Subscribe").click()
    page.get_by_role("heading", name="Enter the code we texted you").wait_for()

    task_queue()
    [text] = sandbox.recorder.list(provider="twilio", target="+14155550123")
    code = re.search(r"\b(\d{6})\b", text["payload"]["Body"]).group(1)
    page.get_by_label("Confirmation code").fill("000000" if code != "000000" else "111111")
    page.get_by_role("button", name="Confirm").click()
    page.get_by_text("This code is wrong or has expired").wait_for()
    page.get_by_label("Confirmation code").fill(code)
    page.get_by_role("button", name="Confirm").click()
    page.get_by_text("Subscribed: SMS to +14155550123").wait_for()
    assert Subscriber.objects.get(address="+14155550123").is_active


@pytest.mark.browser
def test_preferences_and_unsubscribe_by_signed_link_without_login(page, site):
    follow = make_component("Follow app alerts")
    person = subscribe("email", "parent@example.org")
    page.goto(f"{site}/subscriptions/{manage_token(person.public_id)}/")
    page.get_by_label("Follow app alerts").check()
    page.get_by_role("button", name="Save").click()
    page.get_by_text("Saved.").wait_for()
    person.refresh_from_db()
    assert list(person.components.all()) == [follow] and not person.all_components

    page.get_by_role("link", name="Unsubscribe").click()
    page.get_by_role("button", name="Unsubscribe").click()
    page.get_by_role("heading", name="You are unsubscribed").wait_for()
    person.refresh_from_db()
    assert person.suppression == "unsubscribed" and not person.is_active


def test_one_click_unsubscribe_post_works_without_a_csrf_token(client):
    person = subscribe("email", "parent@example.org")
    client.handler.enforce_csrf_checks = True
    response = client.post(
        f"/subscriptions/{manage_token(person.public_id)}/unsubscribe",
        "List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200
    person.refresh_from_db()
    assert person.suppression == "unsubscribed"


def test_tampered_links_are_refused(client):
    person = subscribe("email", "parent@example.org")
    token = manage_token(person.public_id)
    assert client.get(f"/subscriptions/{token[:-2]}xx/").status_code == 400
    forged = signing.dumps(str(person.public_id), salt="another-salt")
    assert client.post(f"/subscriptions/{forged}/unsubscribe").status_code == 400
    person.refresh_from_db()
    assert person.is_active


def test_preferences_page_query_count_is_fixed(client, django_assert_max_num_queries):
    for n in range(5):
        make_component(f"Component {n}", audience_slug=None)
    person = subscribe("email", "parent@example.org")
    with django_assert_max_num_queries(4):
        assert client.get(f"/subscriptions/{manage_token(person.public_id)}/").status_code == 200


@pytest.mark.parametrize(
    ("phone", "message"),
    [
        ("call me", "Enter a phone number"),
        ("+1 415 555", "not a valid phone number"),
        ("+7 912 345 67 89", "We cannot send texts to numbers in RU"),
    ],
)
def test_bad_phone_numbers_get_a_clear_field_error(client, phone, message):
    response = client.post("/subscribe/", {"channel": "sms", "phone": phone})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert Subscriber.objects.count() == 0


def test_bad_email_gets_a_clear_field_error(client):
    response = client.post("/subscribe/", {"channel": "email", "email": "not-an-address"})
    assert response.status_code == 400
    assert "Enter a valid email address." in response.content.decode()


def test_phone_numbers_are_stored_in_e164(client, task_queue):
    client.post("/subscribe/", {"channel": "sms", "phone": "415-555-0123"})
    assert Subscriber.objects.get().address == "+14155550123"


def test_subscribe_is_rate_limited_per_destination_and_per_ip(client, settings, task_queue):
    settings.NOTIFIERS = {
        **settings.NOTIFIERS,
        "SUBSCRIBE_PER_DESTINATION_PER_HOUR": 2,
        "SUBSCRIBE_PER_IP_PER_HOUR": 4,
    }
    same = {"channel": "email", "email": "victim@example.org"}
    assert [client.post("/subscribe/", same).status_code for _ in range(3)] == [200, 200, 429]
    others = [{"channel": "email", "email": f"p{n}@example.org"} for n in range(3)]
    assert [client.post("/subscribe/", data).status_code for data in others] == [200, 200, 429]
    assert task_queue() == 4


def test_push_device_registration_api(client):
    follow = make_component("Follow app alerts")
    response = client.post(
        "/api/v1/push/devices",
        {"fid": "fid-123", "locale": "es-MX", "components": [follow.public_id]},
        content_type="application/json",
    )
    assert response.status_code == 201 and response.json()["locale"] == "es"
    device = Subscriber.objects.get(channel="push")
    assert device.address == "fid-123" and device.is_active and device.locale == "es"
    assert list(device.components.all()) == [follow]
    bad = client.post(
        "/api/v1/push/devices", {"components": ["nope"]}, content_type="application/json"
    )
    assert bad.status_code == 400
    assert set(bad.json()["errors"]) == {"fid", "components"}


def test_manage_links_are_django_signatures_of_the_subscriber_id(settings):
    person = subscribe("email", "parent@example.org")
    token = manage_token(person.public_id)
    assert token == signing.Signer(salt=MANAGE_SALT).sign(str(person.public_id))
    settings.SECRET_KEY = "another-secret-key-" * 3
    assert manage_token(person.public_id) != token


def test_links_in_emails_sent_before_plain_signatures_still_work(client):
    person = subscribe("email", "parent@example.org")
    earlier = signing.dumps(str(person.public_id), salt=MANAGE_SALT)
    assert client.get(f"/subscriptions/{earlier}/").status_code == 200
    assert client.get(f"/subscriptions/{earlier[:-2]}xx/").status_code == 400


def register(client, fid: str, **meta):
    return client.post(
        "/api/v1/push/devices", {"fid": fid}, content_type="application/json", **meta
    )


def test_push_registration_is_rate_limited_per_client_and_per_installation(client, settings):
    settings.RATE_LIMITS = {
        **settings.RATE_LIMITS,
        "push": {"PER_IP": 3, "PER_DESTINATION": 2, "WINDOW_SECONDS": 3600},
    }
    assert [register(client, "fid-1").status_code for _ in range(3)] == [201, 201, 429]
    assert register(client, "fid-1", REMOTE_ADDR="192.0.2.8").status_code == 429
    assert register(client, "fid-2").status_code == 201
    refused = register(client, "fid-3")
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert Subscriber.objects.filter(channel="push").count() == 2  # one row per installation


def test_with_app_keys_set_only_the_app_registers_devices(client, settings):
    settings.PUSH_APP_KEYS = ["old-key", "new-key"]
    assert register(client, "fid-1").status_code == 401
    assert register(client, "fid-1", HTTP_X_APP_KEY="guess").status_code == 401
    assert register(client, "fid-1", HTTP_X_APP_KEY="new-key").status_code == 201
    assert register(client, "fid-2", HTTP_X_APP_KEY="old-key").status_code == 201
    assert Subscriber.objects.filter(channel="push").count() == 2
