"""A subscriber adds, confirms, changes and removes their backup contact from their manage
page (signed link, no login), confirmed as a subscription is: in Chromium with the code
from the sandbox phone, and by the email link from the sandbox inbox."""

from __future__ import annotations

import re

import pytest

from notifiers.channels.context import manage_token
from notifiers.models import Delivery
from notifiers.subscribers import Subscriber, Suppression
from tests.factories import make_component, subscribe

pytestmark = pytest.mark.django_db(transaction=True)

PHONE = "+14155550123"
EMAIL = "parent@example.org"


@pytest.fixture
def site(live_server, settings):
    settings.STATUSPAGE = {**settings.STATUSPAGE, "URL": live_server.url}
    return live_server.url


def manage_url(subscriber: Subscriber) -> str:
    return f"/subscriptions/{manage_token(subscriber.public_id)}/"


def texted_code(sandbox, phone: str) -> str:
    [text] = [
        r for r in sandbox.recorder.list(provider="twilio", target=phone) if r["kind"] == "sms"
    ]
    return re.search(r"\b(\d{6})\b", text["payload"]["Body"]).group(1)


def emailed_link(sandbox, address: str) -> str:
    [mail] = sandbox.recorder.list(provider="sendgrid", target=address)
    return re.search(r"https?://\S+(/subscribe/email/\S+/)", mail["payload"]["text"]).group(1)


@pytest.mark.browser
def test_an_email_subscriber_adds_a_mobile_backup_confirms_the_code_and_removes_it(
    page, site, sandbox, task_queue
):
    make_component("Follow app alerts")
    person = subscribe("email", EMAIL)
    page.goto(site + manage_url(person))
    page.get_by_role("heading", name="Backup contact").wait_for()
    page.get_by_label("Backup mobile number").fill("(415) 555-0123")
    page.get_by_role("button", name="Add a backup").click()
    page.get_by_role("heading", name="Enter the code we texted you").wait_for()
    person.refresh_from_db()
    assert person.fallback_id is None, "not a backup before it is confirmed"

    task_queue()
    page.get_by_label("Confirmation code").fill(texted_code(sandbox, PHONE))
    page.get_by_role("button", name="Confirm").click()
    page.get_by_text(f"Backup: SMS to {PHONE}.").wait_for()
    page.get_by_text(f"Subscribed: Email to {EMAIL}.").wait_for()
    backup = Subscriber.objects.get(address=PHONE)
    person.refresh_from_db()
    assert person.fallback == backup and backup.is_active
    assert not backup.all_components and not backup.components.exists(), "follows nothing"

    page.get_by_role("button", name="Remove the backup").click()
    page.get_by_role("button", name="Add a backup").wait_for()
    assert page.get_by_text("Backup: SMS").count() == 0
    person.refresh_from_db()
    backup.refresh_from_db()
    assert person.fallback_id is None
    assert backup.suppression == Suppression.UNSUBSCRIBED, "nothing is sent there any more"


def test_an_sms_subscriber_confirms_an_email_backup_by_its_link(client, sandbox, task_queue):
    person = subscribe("sms", PHONE)
    answer = client.post(manage_url(person) + "backup", {"email": "Parent@Example.org"})
    assert answer.status_code == 200 and "Check your inbox" in answer.content.decode()
    task_queue()
    [mail] = sandbox.recorder.list(provider="sendgrid", target=EMAIL)
    assert "as the backup of their Acme Status status updates" in mail["payload"]["text"]
    link = emailed_link(sandbox, EMAIL)
    assert "as your backup" in client.get(link).content.decode()
    assert client.post(link).url == manage_url(person)
    person.refresh_from_db()
    assert person.fallback.address == EMAIL and person.fallback.is_active
    assert not person.fallback.all_components


def test_a_live_subscription_made_a_backup_keeps_what_it_follows(client, sandbox, task_queue):
    follow = make_component("Follow app alerts")
    own = subscribe("email", EMAIL, [follow])
    person = subscribe("sms", PHONE)
    client.post(manage_url(person) + "backup", {"email": EMAIL})
    task_queue()
    client.post(emailed_link(sandbox, EMAIL))
    own.refresh_from_db()
    assert list(own.components.all()) == [follow] and not own.all_components
    person.refresh_from_db()
    assert person.fallback == own


def test_a_new_backup_replaces_the_old_one_only_once_confirmed(client, sandbox, task_queue):
    old = subscribe("email", "old@example.org")
    Subscriber.objects.filter(id=old.id).update(all_components=False)
    person = subscribe("sms", PHONE, fallback=old)
    client.post(manage_url(person) + "backup", {"email": EMAIL})
    person.refresh_from_db()
    assert person.fallback == old
    task_queue()
    client.post(emailed_link(sandbox, EMAIL))
    person.refresh_from_db()
    old.refresh_from_db()
    assert person.fallback.address == EMAIL
    assert old.suppression == Suppression.UNSUBSCRIBED


@pytest.mark.parametrize(
    ("phone", "message"),
    [
        ("call me", "Enter a phone number"),
        ("+7 912 345 67 89", "We cannot send texts to numbers in RU"),
        ("+1 900 555 1234", "Premium-rate numbers cannot subscribe."),
        ("+44 20 7946 0000", "This is a landline number."),
    ],
)
def test_a_backup_number_is_checked_as_a_subscription_is(client, phone, message):
    person = subscribe("email", EMAIL)
    answer = client.post(manage_url(person) + "backup", {"phone": phone})
    assert answer.status_code == 400 and message in answer.content.decode()
    assert Subscriber.objects.count() == 1 and not Delivery.objects.exists()


def test_backups_have_the_subscriptions_limits_and_sms_budget(client, settings, task_queue):
    settings.NOTIFIERS = {**settings.NOTIFIERS, "SUBSCRIBE_PER_DESTINATION_PER_HOUR": 2}
    settings.RATE_LIMITS = {
        **settings.RATE_LIMITS,
        "sms": {"PER_IP": 100, "PER_DESTINATION": 3, "WINDOW_SECONDS": 3600},
    }
    person = subscribe("email", EMAIL)
    same = [client.post(manage_url(person) + "backup", {"phone": PHONE}) for _ in range(3)]
    assert [a.status_code for a in same] == [302, 302, 429]
    assert "Too many attempts" in same[-1].content.decode()
    other = client.post(manage_url(person) + "backup", {"phone": "+1 415 555 0150"})
    assert other.status_code == 302
    paused = client.post(manage_url(person) + "backup", {"phone": "+1 415 555 0151"})
    assert paused.status_code == 503 and "Adding a mobile number is paused" in (
        paused.content.decode()
    )
    assert paused["Retry-After"]
    assert Delivery.objects.count() == 3


def test_only_the_signed_link_changes_the_backup(client):
    person = subscribe("email", EMAIL)
    token = manage_token(person.public_id)
    assert client.post(f"/subscriptions/{token[:-2]}xx/backup", {"phone": PHONE}).status_code == 400
    assert client.get(f"/subscriptions/{token}/backup").status_code == 405
    hook = subscribe("webhook", "https://hooks.example/x")
    assert client.post(manage_url(hook) + "backup", {"phone": PHONE}).status_code == 400
    assert Subscriber.objects.count() == 2


def test_manage_page_with_a_backup_has_a_fixed_query_count(client, django_assert_max_num_queries):
    for n in range(5):
        make_component(f"Component {n}", audience_slug=None)
    backup = subscribe("sms", PHONE)
    person = subscribe("email", EMAIL, fallback=backup)
    with django_assert_max_num_queries(4):
        page = client.get(manage_url(person))
    assert f"Backup: SMS to {PHONE}." in page.content.decode()


def test_backup_wording_is_in_spanish_too(client, sandbox, task_queue):
    person = subscribe("sms", PHONE, locale="es")
    page = client.get(manage_url(person), HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert "Contacto de respaldo" in page and "Añadir un respaldo" in page
    client.post(manage_url(person) + "backup", {"email": EMAIL})
    task_queue()
    [mail] = sandbox.recorder.list(provider="sendgrid", target=EMAIL)
    assert "como respaldo de sus avisos de estado de Acme Status" in mail["payload"]["text"]
    client.post(emailed_link(sandbox, EMAIL))
    assert Subscriber.objects.get(address=EMAIL).locale == "es", "told in their language"


def test_a_backup_given_at_subscribe_time_is_confirmed_by_its_own_code(client, sandbox, task_queue):
    answer = client.post(
        "/subscribe/", {"channel": "email", "email": EMAIL, "backup_phone": "415 555 0123"}
    )
    assert answer.status_code == 200
    code_page = re.search(r'href="(/subscribe/sms/[^"]+/)"', answer.content.decode()).group(1)
    assert "Enter the code we texted to your backup mobile" in answer.content.decode()
    task_queue()
    person = Subscriber.objects.get(address=EMAIL)
    confirmed = client.post(code_page, {"code": texted_code(sandbox, PHONE)})
    assert confirmed.url == manage_url(person)
    person.refresh_from_db()
    assert person.fallback.address == PHONE and person.fallback.is_active
    assert person.confirmed_at is None, "the subscription itself waits for its own link"


def test_a_bad_backup_at_subscribe_time_is_a_field_error_and_nothing_is_written(client):
    answer = client.post(
        "/subscribe/", {"channel": "sms", "phone": PHONE, "backup_email": "not-an-address"}
    )
    assert answer.status_code == 400
    assert "Enter a valid email address." in answer.content.decode()
    assert not Subscriber.objects.exists()


def test_a_backup_only_contact_saving_its_page_with_nothing_ticked_still_follows_nothing(
    client, sandbox, task_queue
):
    follow = make_component("Follow app alerts")
    person = subscribe("sms", PHONE)
    client.post(manage_url(person) + "backup", {"email": EMAIL})
    task_queue()
    client.post(emailed_link(sandbox, EMAIL))
    backup = Subscriber.objects.get(address=EMAIL)
    page = client.get(manage_url(backup)).content.decode()
    assert "This address is a backup contact" in page

    client.post(manage_url(backup), {"language": "es"})
    backup.refresh_from_db()
    assert backup.locale == "es"
    assert not backup.all_components and not backup.components.exists()

    client.post(manage_url(backup), {"language": "es", "components": [follow.id]})
    backup.refresh_from_db()
    assert list(backup.components.all()) == [follow] and not backup.all_components
