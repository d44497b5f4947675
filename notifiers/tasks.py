"""Confirmation messages for the subscribe flows, sent from the task queue, never a request.

A transient failure schedules the same task again with backoff (django-q2's scheduler),
up to CONFIRM_ATTEMPTS; a permanent one (an invalid number, a refused address) is logged
and dropped: the person sees no message and can ask again.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.template.loader import render_to_string

from incidents.messages import render_message
from notifiers.channels.email import sendgrid_client
from notifiers.channels.sms import twilio_client, twilio_config
from notifiers.subscribers import Subscriber
from notifiers.channels.base import DeliveryError
from notifiers.channels.email import classify as classify_email
from notifiers.channels.sms import classify as classify_sms
from statuspage import clock

log = logging.getLogger(__name__)
CONFIRM_ATTEMPTS = 5
CONFIRM_BACKOFF = timedelta(minutes=1)


def retry_later(func: str, error: DeliveryError, attempt: int, *args) -> bool:
    """Schedule another attempt unless the error is permanent or attempts ran out."""
    if error.permanent or attempt >= CONFIRM_ATTEMPTS:
        log.warning("%s%s gave up after %s attempt(s): %s", func, args, attempt, error)
        return False
    from django_q.models import Schedule
    from django_q.tasks import schedule

    delay = max(CONFIRM_BACKOFF * 2 ** (attempt - 1), timedelta(seconds=error.retry_after or 0))
    schedule(func, *args, attempt + 1, schedule_type=Schedule.ONCE, next_run=clock.now() + delay, repeats=1)
    return False


def send_email_confirmation(subscriber_id: int, link: str, attempt: int = 1) -> bool:
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
    try:
        sendgrid_client().send(body)
    except Exception as error:  # classified: a provider error is retried, never lost silently
        failure = error if isinstance(error, DeliveryError) else classify_email(error)
        return retry_later("notifiers.tasks.send_email_confirmation", failure, attempt, subscriber_id, link)
    return True


def send_sms_code(subscriber_id: int, attempt: int = 1) -> bool:
    subscriber = Subscriber.objects.filter(id=subscriber_id).first()
    if subscriber is None:
        return False
    code = subscriber.new_code(clock.now())
    subscriber.save(update_fields=["code_digest", "code_sent_at", "code_tries"])
    text = render_message("sms", "confirm", {"page_name": settings.STATUSPAGE["NAME"], "code": code}, "body")
    try:
        client, http = twilio_client()
        client.messages.create(
            to=subscriber.address,
            body=text,
            messaging_service_sid=twilio_config()["MESSAGING_SERVICE_SID"],
            validity_period=600,
        )
    except DeliveryError as error:
        return retry_later("notifiers.tasks.send_sms_code", error, attempt, subscriber_id)
    except Exception as error:  # classified: a provider error is retried, never lost silently
        return retry_later("notifiers.tasks.send_sms_code", classify_sms(error, http), attempt, subscriber_id)
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
