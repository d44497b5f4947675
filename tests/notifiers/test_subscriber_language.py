"""Each subscriber hears in their own language: chosen on subscribe (from
settings.LANGUAGES), used for every delivery and every confirmation, and batched per
language so an email batch is still one SendGrid request per language."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import time_machine
from django.conf import settings

from incidents.models import MessageTemplate
from notifiers.channels.context import manage_token
from notifiers.delivery import dispatch
from notifiers.models import Delivery, DeliveryState, Recipients
from notifiers.subscribers import Subscriber
from tests.clock import NOW
from tests.factories import add_update, make_incident, subscribe
from tests.statuspage.test_i18n import untranslated

pytestmark = pytest.mark.django_db(transaction=True)

TEMPLATES = Path(settings.BASE_DIR) / "templates"
SUBSCRIBER_TEMPLATES = sorted(
    path
    for path in [*(TEMPLATES / "notifiers").glob("*.*"), *(TEMPLATES / "messages").rglob("*.txt")]
    if path.parent.name != "staff"  # staff wording is read by the on-call team, in English
)
SAME_IN_SPANISH = {"Webhook", "SMS"}


def announce(update, channel, task_queue):
    with time_machine.travel(NOW, tick=True):
        dispatch.announce(update, channel, Recipients.SUBSCRIBERS, None, NOW)
        task_queue()


@pytest.mark.parametrize("path", SUBSCRIBER_TEMPLATES, ids=lambda p: str(p.relative_to(TEMPLATES)))
def test_every_string_a_subscriber_reads_has_a_spanish_translation(path):
    assert untranslated(path, SAME_IN_SPANISH) == []


def test_the_subscribe_form_offers_the_configured_languages_in_the_page_language(client):
    html = client.get("/subscribe/", HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert '<option value="en">English</option>' in html
    assert '<option value="es" selected>Español</option>' in html
    assert "Idioma de los mensajes" in html


def test_an_unknown_language_is_refused_with_a_field_error(client):
    response = client.post(
        "/subscribe/", {"channel": "email", "email": "a@example.org", "language": "xx"}
    )
    assert response.status_code == 400
    assert (
        "Select a valid choice. xx is not one of the available choices."
        in response.content.decode()
    )
    assert Subscriber.objects.count() == 0


def test_email_opt_in_in_spanish_confirms_a_spanish_subscriber(client, sandbox, task_queue):
    client.post("/subscribe/", {"channel": "email", "email": "madre@example.org", "language": "es"})
    task_queue()
    [mail] = sandbox.recorder.list(provider="sendgrid", target="madre@example.org")
    assert mail["payload"]["subject"] == "Confirme su suscripción a Acme Status"
    assert "Confírmelo aquí:" in mail["payload"]["text"]
    assert '<html lang="es">' in mail["payload"]["html"]
    link = re.search(r"(http://\S+/subscribe/email/\S+/)", mail["payload"]["text"]).group(1)
    client.post(link[link.index("/subscribe/") :])
    assert Subscriber.objects.get().locale == "es"


def test_a_form_without_a_language_takes_the_page_language(client, sandbox, task_queue):
    client.post(
        "/subscribe/", {"channel": "sms", "phone": "415-555-0123"}, HTTP_ACCEPT_LANGUAGE="es-ES"
    )
    task_queue()
    [text] = sandbox.recorder.list(provider="twilio", target="+14155550123")
    assert "Acme Status: su código de confirmación es" in text["payload"]["Body"]


def test_a_webhook_ping_is_worded_in_the_chosen_language(client, sandbox, task_queue):
    client.post(
        "/subscribe/",
        {
            "channel": "webhook",
            "url": f"{sandbox.url}/_sandbox/hooks/slack",
            "webhook_format": "slack",
            "language": "es",
        },
    )
    task_queue()
    [ping] = sandbox.recorder.list(provider="webhook", target="slack")
    assert ping["payload"]["body"]["text"].startswith(
        "Novedades de estado de Acme Status conectadas"
    )
    assert Subscriber.objects.get().locale == "es"


def test_each_email_is_in_its_subscribers_language_one_request_per_language(
    component, sandbox, task_queue
):
    for n in range(3):
        subscribe("email", f"en{n}@example.org")
    for n in range(2):
        subscribe("email", f"es{n}@example.org", locale="es")
    announce(add_update(make_incident(component), "opened"), "email", task_queue)

    mails = {r["target"]: r["payload"] for r in sandbox.recorder.list(provider="sendgrid")}
    assert len(mails) == 5 and Delivery.objects.filter(state=DeliveryState.SENT).count() == 5
    requests_by_language = {}
    for address, mail in mails.items():
        requests_by_language.setdefault(address[:2], set()).add(mail["message_id"])
    assert {k: len(v) for k, v in requests_by_language.items()} == {"en": 1, "es": 1}
    spanish, english = mails["es0@example.org"], mails["en0@example.org"]
    assert spanish["subject"] == "Problema del servicio: Follow app alerts"
    assert english["subject"] == "Service problem: Follow app alerts"
    assert "Qué hacer ahora: Check glucose with a meter." in spanish["text"]
    assert "Darse de baja: http" in spanish["text"] and '<html lang="es">' in spanish["html"]
    assert "What to do now:" in english["text"] and "Qué" not in english["text"]


def test_texts_and_device_pushes_are_in_each_subscribers_language(component, sandbox, task_queue):
    subscribe("sms", "+14155550101", locale="es")
    subscribe("sms", "+14155550102")
    subscribe("push", "fid-es", locale="es")
    update = add_update(make_incident(component), "opened")
    announce(update, "sms", task_queue)
    announce(update, "push", task_queue)
    texts = {r["target"]: r["payload"]["Body"] for r in sandbox.recorder.list(provider="twilio")}
    assert "Las alertas y los datos pueden llegar con retraso o no llegar." in texts["+14155550101"]
    assert "Alerts and data may be delayed or missing." in texts["+14155550102"]
    [push] = sandbox.recorder.list(provider="fcm", target="fid-es")
    assert push["preview"]["title"] == "Problema del servicio: Follow app alerts"


def test_a_translation_over_the_channel_limit_falls_back_to_the_default_language(
    component, sandbox, task_queue
):
    MessageTemplate.objects.create(
        channel="sms", kind="opened", part="body", locale="es", body="日" * 400
    )
    subscribe("sms", "+14155550101", locale="es")
    announce(add_update(make_incident(component), "opened"), "sms", task_queue)
    [text] = sandbox.recorder.list(provider="twilio", target="+14155550101")
    assert "Alerts and data may be delayed or missing." in text["payload"]["Body"]
    assert Delivery.objects.get().state == DeliveryState.SENT


def test_a_subscriber_changes_their_language_on_the_preferences_page(client):
    person = subscribe("email", "parent@example.org")
    url = f"/subscriptions/{manage_token(person.public_id)}/"
    assert '<option value="en" selected>English</option>' in client.get(url).content.decode()
    assert client.post(url, {"language": "es"}).status_code == 200
    person.refresh_from_db()
    assert person.locale == "es"
    assert client.post(url, {"language": "xx"}).status_code == 400


def test_sms_replies_are_in_the_texters_language(client, settings, sandbox):
    from twilio.request_validator import RequestValidator

    from notifiers.channels.sms import twilio_config

    subscribe("sms", "+14155550101", locale="es")
    params = {"From": "+14155550101", "To": "+15005550006", "Body": "STOP"}
    url = f"{settings.STATUSPAGE['URL']}/hooks/twilio/inbound"
    signature = RequestValidator(twilio_config()["AUTH_TOKEN"]).compute_signature(url, params)
    response = client.post("/hooks/twilio/inbound", params, HTTP_X_TWILIO_SIGNATURE=signature)
    assert "no le enviaremos más SMS. Responda START" in response.content.decode()
