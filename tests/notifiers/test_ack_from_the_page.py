"""On-call staff acknowledge from where the page arrives, without logging in: a text back
(ACK, or the incident's short code), 1 pressed on the page call, or the signed one-time link
in the page's email or text. Everything goes through the sandbox as the providers would
send it, signed as they sign; each acknowledgement is audited with its channel and contact."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

import pytest
import requests
import time_machine

from incidents.models import AuditEvent, Incident, UsedAckLink
from incidents.response.acks import forget_spent_links
from notifiers.channels.acks import read_token
from notifiers.delivery import dispatch
from notifiers.lengths import sms_count
from notifiers.models import Recipients
from tests.clock import NOW
from tests.factories import add_update, make_incident

pytestmark = pytest.mark.django_db(transaction=True)

ADA = "+14155550199"
GRACE = "+14155550198"
STRANGER = "+14155550142"
OUR_NUMBER = "+14155550000"
LINK = re.compile(r"https?://\S+/ack/[^\s<\"]+")


@dataclass
class Contact:
    name: str
    phone: str
    email: str


def on_call() -> list[Contact]:
    return [Contact("Ada", ADA, "ada@example.org"), Contact("Grace", GRACE, "")]


@pytest.fixture(autouse=True)
def roster(settings):
    settings.NOTIFIERS_ONCALL_PROVIDER = "tests.notifiers.test_ack_from_the_page.on_call"


@pytest.fixture
def site(live_server, settings):
    """The site served for real, so the sandbox can call back its public URL."""
    settings.STATUSPAGE = {**settings.STATUSPAGE, "URL": live_server.url}
    return live_server.url


def page(
    component,
    task_queue,
    *channels,
    name: str = "Follow app alerts down",
    body: str = "Alerts are not reaching phones.",
) -> Incident:
    incident = make_incident(component)
    Incident.objects.filter(id=incident.id).update(name=name)
    update = add_update(incident, "paging", body=body)
    with time_machine.travel(NOW, tick=True):
        for channel in channels:
            dispatch.announce(update, channel, Recipients.ONCALL, None, NOW)
        task_queue()
    incident.refresh_from_db()
    return incident


def received(sandbox, target: str, kind: str = "sms") -> list[str]:
    return [
        r["preview"]["body"]
        for r in sandbox.recorder.list(provider="twilio", target=target)
        if r["kind"] == kind
    ]


def text_us(sandbox, site, phone: str, body: str) -> dict:
    response = requests.post(
        f"{sandbox.url}/_sandbox/twilio/inbound",
        json={"url": f"{site}/hooks/twilio/inbound", "from": phone, "to": OUR_NUMBER, "body": body},
        timeout=10,
    )
    response.raise_for_status()
    return response.json()


def answer_and_press(sandbox, phone: str, digits: str) -> dict:
    response = requests.post(
        f"{sandbox.url}/_sandbox/twilio/answer", json={"to": phone, "digits": digits}, timeout=10
    )
    response.raise_for_status()
    return response.json()


def acknowledgement(incident: Incident) -> AuditEvent:
    return AuditEvent.objects.get(incident=incident, action="acknowledged")


# --- Texting back -------------------------------------------------------------------------


def test_the_page_text_names_the_code_and_a_reply_of_ack_acknowledges(
    component, sandbox, site, task_queue
):
    incident = page(component, task_queue, "sms")
    [text] = received(sandbox, ADA)
    assert re.fullmatch(r"[A-Z]{2}[0-9]{2}", incident.short_code)
    assert f"reply ACK {incident.short_code}" in text

    answer = text_us(sandbox, site, ADA, "  ack \n")

    assert answer["status"] == 200
    incident.refresh_from_db()
    assert incident.acknowledged_at is not None and incident.acknowledged_via == "sms"
    event = acknowledgement(incident)
    assert (event.via, event.contact, event.actor) == ("sms", f"Ada ({ADA})", None)
    assert "you acknowledged Follow app alerts down" in received(sandbox, ADA)[-1]


def test_the_short_code_alone_acknowledges_and_a_second_ack_changes_nothing(
    component, sandbox, site, task_queue
):
    incident = page(component, task_queue, "sms")
    text_us(sandbox, site, GRACE, incident.short_code.lower())
    text_us(sandbox, site, ADA, f"ACK {incident.short_code}")

    incident.refresh_from_db()
    assert incident.acknowledged_contact == f"Grace ({GRACE})"
    assert AuditEvent.objects.filter(action="acknowledged").count() == 1
    assert f"already acknowledged by Grace ({GRACE})" in received(sandbox, ADA)[-1]


def test_a_long_page_is_shortened_to_fit_but_keeps_the_code_and_the_whole_link(
    component, sandbox, site, task_queue, client
):
    incident = page(component, task_queue, "sms", body="Queue backed up. " * 30)
    [text] = received(sandbox, ADA)
    assert "Queue backed up." in text and len(text) < len("Queue backed up. " * 30)
    assert sms_count(text).segments <= 3 and f"ACK {incident.short_code}" in text
    assert client.post(LINK.search(text).group(0).removeprefix(site)).status_code == 200


def test_a_page_in_ucs2_too_long_for_the_link_still_goes_out_with_the_code(
    component, sandbox, site, task_queue
):
    incident = page(component, task_queue, "sms", name="🔥 Alerts 🔥 " * 5, body="🔥 " * 80)
    [text] = received(sandbox, ADA)
    assert sms_count(text).segments <= 3
    assert text.endswith(f"To acknowledge reply ACK {incident.short_code}")
    assert not LINK.search(text)
    text_us(sandbox, site, ADA, "ACK")
    incident.refresh_from_db()
    assert incident.acknowledged_via == "sms"


def test_a_phone_not_on_call_and_never_paged_cannot_acknowledge(
    component, sandbox, site, task_queue
):
    incident = page(component, task_queue, "sms")
    text_us(sandbox, site, STRANGER, "ACK")
    text_us(sandbox, site, STRANGER, f"ACK {incident.short_code}")

    incident.refresh_from_db()
    assert incident.acknowledged_at is None
    assert all("not on call" in reply for reply in received(sandbox, STRANGER))


def test_a_bare_ack_with_two_incidents_waiting_asks_for_the_code(
    component, sandbox, site, task_queue
):
    first = page(component, task_queue, "sms", name="Alerts down")
    second = page(component, task_queue, "sms", name="Sign-in slow")
    text_us(sandbox, site, ADA, "ACK")

    [reply] = [r for r in received(sandbox, ADA) if "several incidents" in r]
    assert first.short_code in reply and second.short_code in reply
    assert not Incident.objects.filter(acknowledged_at__isnull=False).exists()

    text_us(sandbox, site, ADA, f"ack {second.short_code}")
    text_us(sandbox, site, ADA, "ACK")  # the one left waiting
    assert set(Incident.objects.filter(acknowledged_at__isnull=False)) == {first, second}


def test_stop_still_means_stop_for_a_subscriber_and_acknowledges_nothing(
    component, sandbox, site, task_queue
):
    incident = page(component, task_queue, "sms")
    text_us(sandbox, site, ADA, "STOP")
    incident.refresh_from_db()
    assert incident.acknowledged_at is None
    assert "no more texts" in received(sandbox, ADA)[-1]


# --- Pressing 1 on the page call ----------------------------------------------------------


def test_the_page_call_asks_for_a_key_and_pressing_1_acknowledges(
    component, sandbox, site, task_queue
):
    incident = page(component, task_queue, "voice")
    [call] = [r for r in sandbox.recorder.list(provider="twilio") if r["target"] == ADA]
    assert '<Gather action="' in call["payload"]["Twiml"]
    assert "Press 1 to acknowledge" in call["preview"]["body"]

    repeated = answer_and_press(sandbox, ADA, "7")
    assert repeated["status"] == 200 and "<Gather" in repeated["reply"]
    incident.refresh_from_db()
    assert incident.acknowledged_at is None

    pressed = answer_and_press(sandbox, ADA, "1")
    assert "You acknowledged Follow app alerts down" in pressed["reply"]
    incident.refresh_from_db()
    event = acknowledgement(incident)
    assert (event.via, event.contact) == ("voice", f"Ada ({ADA})")


def test_the_gather_callback_refuses_a_request_twilio_did_not_sign(
    component, sandbox, site, task_queue, client
):
    page(component, task_queue, "voice")
    [call] = [r for r in sandbox.recorder.list(provider="twilio") if r["target"] == ADA]
    action = re.search(r'action="([^"]+)"', call["payload"]["Twiml"]).group(1)
    path = action.removeprefix(site)
    forged = client.post(path, {"Digits": "1"}, HTTP_X_TWILIO_SIGNATURE="forged")
    assert forged.status_code == 403
    assert not Incident.objects.filter(acknowledged_at__isnull=False).exists()


# --- The signed one-time link -------------------------------------------------------------


def link_in_inbox(sandbox, address: str) -> str:
    [mail] = sandbox.recorder.list(provider="sendgrid", target=address)
    return LINK.search(mail["payload"]["text"]).group(0)


def test_the_email_link_shows_a_confirm_page_and_only_the_post_acknowledges(
    component, sandbox, site, task_queue, client
):
    incident = page(component, task_queue, "email")
    path = link_in_inbox(sandbox, "ada@example.org").removeprefix(site)

    for _ in range(2):  # a mail scanner, then the person
        shown = client.get(path)
        assert shown.status_code == 200 and b'id="ack-confirm"' in shown.content
    incident.refresh_from_db()
    assert incident.acknowledged_at is None

    done = client.post(path)
    assert done.status_code == 200 and b"You acknowledged" in done.content
    event = acknowledgement(incident)
    assert (event.via, event.contact) == ("email-link", "Ada (ada@example.org)")

    again = client.post(path)
    assert again.status_code == 410 and b"already used" in again.content
    assert client.get(path).status_code == 410


def test_the_link_in_the_text_acknowledges_as_sms_link(
    component, sandbox, site, task_queue, client
):
    incident = page(component, task_queue, "sms")
    [text] = received(sandbox, ADA)
    path = LINK.search(text).group(0).removeprefix(site)
    assert client.post(path).status_code == 200
    incident.refresh_from_db()
    assert incident.acknowledged_via == "sms-link"


def test_each_contact_has_their_own_link_and_a_used_one_of_another_does_not_block_it(
    component, sandbox, site, task_queue, client, settings
):
    settings.NOTIFIERS_ONCALL_PROVIDER = "tests.notifiers.test_ack_from_the_page.two_inboxes"
    incident = page(component, task_queue, "email")
    ada = link_in_inbox(sandbox, "ada@example.org").removeprefix(site)
    grace = link_in_inbox(sandbox, "grace@example.org").removeprefix(site)
    assert ada != grace
    client.post(ada)
    second = client.post(grace)
    assert second.status_code == 200 and b"already acknowledged by Ada" in second.content
    incident.refresh_from_db()
    assert incident.acknowledged_contact == "Ada (ada@example.org)"


def two_inboxes() -> list[Contact]:
    return [Contact("Ada", "", "ada@example.org"), Contact("Grace", "", "grace@example.org")]


def test_a_link_spent_by_another_process_is_refused_by_the_database(
    component, sandbox, site, task_queue, client
):
    incident = page(component, task_queue, "email")
    path = link_in_inbox(sandbox, "ada@example.org").removeprefix(site)
    claim = read_token(path.removeprefix("/ack/"))
    UsedAckLink.objects.create(key=claim.key, incident=incident, used_at=NOW)
    assert client.post(path).status_code == 410
    incident.refresh_from_db()
    assert incident.acknowledged_at is None


def test_an_expired_link_is_refused_and_says_so(component, sandbox, site, task_queue, client):
    incident = page(component, task_queue, "email")
    path = link_in_inbox(sandbox, "ada@example.org").removeprefix(site)
    with time_machine.travel(NOW + timedelta(hours=24, minutes=1), tick=False):
        refused = client.post(path)
    assert refused.status_code == 410 and b"expired" in refused.content
    incident.refresh_from_db()
    assert incident.acknowledged_at is None


def test_a_spent_link_is_forgotten_once_its_signature_has_expired_and_stays_refused(
    component, sandbox, site, task_queue, client
):
    page(component, task_queue, "email")
    path = link_in_inbox(sandbox, "ada@example.org").removeprefix(site)
    with time_machine.travel(NOW + timedelta(minutes=1), tick=False):
        assert client.post(path).status_code == 200
    assert forget_spent_links(NOW + timedelta(hours=23)) == 0
    later = NOW + timedelta(hours=24, minutes=2)
    assert forget_spent_links(later) == 1 and not UsedAckLink.objects.exists()
    with time_machine.travel(later, tick=False):
        refused = client.post(path)
    assert refused.status_code == 410 and b"expired" in refused.content


def test_a_tampered_link_is_refused_and_says_so(component, sandbox, site, task_queue, client):
    incident = page(component, task_queue, "email")
    path = link_in_inbox(sandbox, "ada@example.org").removeprefix(site)
    incident_id, rest = path.removeprefix("/ack/").split(".", 1)
    forged = f"/ack/{int(incident_id) + 1}.{rest}"
    refused = client.post(forged)
    assert refused.status_code == 404 and b"does not work" in refused.content
    incident.refresh_from_db()
    assert incident.acknowledged_at is None


def test_the_link_is_rate_limited_per_client(
    component, sandbox, site, task_queue, client, settings
):
    settings.RATE_LIMITS = {
        **settings.RATE_LIMITS,
        "ack": {"PER_IP": 2, "PER_DESTINATION": 10, "WINDOW_SECONDS": 60},
    }
    page(component, task_queue, "email")
    path = link_in_inbox(sandbox, "ada@example.org").removeprefix(site)
    assert [client.get(path).status_code for _ in range(3)] == [200, 200, 429]


def test_the_confirm_page_reads_in_a_fixed_number_of_queries(
    component, sandbox, site, task_queue, client, django_assert_max_num_queries
):
    page(component, task_queue, "email")
    path = link_in_inbox(sandbox, "ada@example.org").removeprefix(site)
    # the rate limit (five, with its transaction), the delivery, the incident, the spent link
    with django_assert_max_num_queries(8):
        assert client.get(path).status_code == 200


# --- The console ---------------------------------------------------------------------------


def test_the_console_shows_who_acknowledged_and_from_where(
    component, sandbox, site, task_queue, client, admin_user
):
    incident = page(component, task_queue, "sms")
    text_us(sandbox, site, ADA, "ACK")
    client.force_login(admin_user)
    shown = client.get(f"/manage/incidents/{incident.public_id}").content.decode()
    assert f"Acknowledged by Ada ({ADA})" in shown
    assert "(SMS reply)" in shown
