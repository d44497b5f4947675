"""Confirmation messages for the subscribe flows, sent from the task queue, never a request.

A failed confirmation send fails its task (logged by the cluster); the person asks again.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.template.loader import render_to_string

from incidents.messages import render_message
from notifiers.channels.email import sendgrid_client
from notifiers.channels.sms import twilio_client, twilio_config
from notifiers.subscribers import Subscriber
from statuspage import clock

log = logging.getLogger(__name__)


def send_email_confirmation(subscriber_id: int, link: str) -> bool:
    subscriber = Subscriber.objects.filter(id=subscriber_id).first()
    if subscriber is None:
        return False
    context = {"page_name": settings.STATUSPAGE["NAME"], "link": link}
    subject = render_message("email", "confirm", context, "subject")
    text = render_message("email", "confirm", context, "body")
    html = render_to_string("notifiers/email_confirm.html", {**context, "subject": subject})
    body = {
        "from": {"email": settings.SENDGRID["FROM_EMAIL"], "name": settings.STATUSPAGE["NAME"]},
        "subject": subject,
        "content": [{"type": "text/plain", "value": text}, {"type": "text/html", "value": html}],
        "personalizations": [{"to": [{"email": subscriber.address}]}],
        "categories": ["subscribe-confirmation"],
    }
    sendgrid_client().send(body)
    return True


def send_sms_code(subscriber_id: int) -> bool:
    subscriber = Subscriber.objects.filter(id=subscriber_id).first()
    if subscriber is None:
        return False
    code = subscriber.new_code(clock.now())
    subscriber.save(update_fields=["code_digest", "code_sent_at", "code_tries"])
    text = render_message("sms", "confirm", {"page_name": settings.STATUSPAGE["NAME"], "code": code}, "body")
    client, _ = twilio_client()
    client.messages.create(
        to=subscriber.address,
        body=text,
        messaging_service_sid=twilio_config()["MESSAGING_SERVICE_SID"],
        validity_period=600,
    )
    return True


def verify_webhook(subscriber_id: int) -> bool:
    """POST a signed ping; the endpoint proves it is ours to use by echoing the challenge
    (Slack and Teams hooks cannot echo: for them a 2xx answer is the proof)."""
    from notifiers.channels.webhook import ping

    subscriber = Subscriber.objects.filter(id=subscriber_id).first()
    if subscriber is None or not ping(subscriber):
        return False
    subscriber.confirm(clock.now())
    subscriber.save(update_fields=["confirmed_at", "code_digest", "updated_at"])
    return True
