"""Confirmations through the outbox: the email opt-in link, the SMS code, the webhook ping
(and, sent the same way, webhooks' `component_update` events: see component_updates).

A confirmation is a ``Delivery`` without an announcement. The subscribe view only writes it
(pending) and queues its send; the task claims it (conditional UPDATE, attempt counted)
before the provider is called and records the outcome like any delivery: sent, pending
again with the outbox's backoff after a transient error, or failed for good after a
permanent one. The engine's sweep (``retry_due``) queues confirmations that are due again,
and those whose queued task was lost.

What the pending request chose (components, language) is kept on the row, so an email
link is signed when the message goes out and every message is in the language chosen.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

from incidents.messages import render_message
from notifiers.channels import email, sms
from notifiers.channels.context import absolute
from notifiers.channels.webhook import ping
from notifiers.delivery import component_updates
from notifiers.delivery.component_updates import is_event
from notifiers.delivery.dispatch import enqueue, record_outcomes
from notifiers.languages import supported_language
from notifiers.models import SEND_QUEUE_LEASE, Delivery
from notifiers.registry import DeliveryError, PermanentError, SendResult, TransientError
from notifiers.subscribers import Subscriber, SubscriberChannel
from statuspage import clock

if TYPE_CHECKING:
    from collections.abc import Callable

log = logging.getLogger(__name__)

PENDING_SALT = "notifiers.pending"
PENDING_MAX_AGE = 60 * 60 * 48
SWEEP_LIMIT = 100
SMS_CODE_VALIDITY_SECONDS = 600


def pending_token(
    subscriber: Subscriber, component_ids: list[int], language: str, backup_for: str = ""
) -> str:
    """The signed request (who, which components, which language, and for a backup
    contact whose backup it becomes) an opt-in confirms."""
    request = {"s": str(subscriber.public_id), "c": list(component_ids), "l": language}
    if backup_for:
        request["b"] = backup_for
    return signing.dumps(request, salt=PENDING_SALT, compress=True)


def read_pending(token: str) -> dict | None:
    try:
        return signing.loads(token, salt=PENDING_SALT, max_age=PENDING_MAX_AGE)
    except signing.BadSignature:
        return None


def request(
    subscriber: Subscriber,
    component_ids: list[int],
    language: str,
    now: datetime,
    backup_for: Subscriber | None = None,
) -> Delivery:
    """Record a confirmation to send and queue its task once the transaction commits;
    with `backup_for`, the subscriber confirms being that contact's backup.

    The row waits a queue lease before it counts as due, so the sweep leaves it to the
    task just queued; if that task is lost, the sweep sends it after the lease."""
    delivery = Delivery.objects.create(
        channel=subscriber.channel,
        target=subscriber.address,
        subscriber=subscriber,
        context={
            "components": list(component_ids),
            "language": language,
            "backup_for": str(backup_for.public_id) if backup_for else "",
        },
        next_attempt_at=now + SEND_QUEUE_LEASE,
        created_at=now,
    )
    enqueue("notifiers.delivery.confirmations.send", delivery.id)
    return delivery


def retry_due(now: datetime) -> int:
    """The engine's sweep: queue confirmations that are due (a retry after backoff, or a
    send whose task was lost), each pushed a lease ahead so it is queued once."""
    due = list(
        Delivery.objects.due(now)
        .filter(announcement__isnull=True)
        .order_by("next_attempt_at")
        .values_list("id", flat=True)[:SWEEP_LIMIT]
    )
    queued = 0
    with transaction.atomic():
        for delivery_id in due:
            if (
                Delivery.objects.due(now)
                .filter(id=delivery_id)
                .update(next_attempt_at=now + SEND_QUEUE_LEASE)
            ):
                enqueue("notifiers.delivery.confirmations.send", delivery_id)
                queued += 1
    return queued


def send(delivery_id: int) -> bool:
    """Claim one confirmation, send it, record the outcome; True when it went out."""
    if not Delivery.objects.filter(announcement__isnull=True).claim([delivery_id], clock.now()):
        return False  # already sent, given up, or another worker holds it
    delivery = Delivery.objects.select_related("subscriber").get(id=delivery_id)  # with its context
    result = attempt(delivery)
    now = clock.now()
    record_outcomes([delivery], [result], now)
    if not result.ok:
        log.warning("confirmation %s to %s: %s", delivery.id, delivery.target, result.error)
    if result.ok and delivery.channel == SubscriberChannel.WEBHOOK and not is_event(delivery):
        subscriber = delivery.subscriber
        assert subscriber is not None  # attempt() sends nothing without one
        subscriber.confirm(now)
        subscriber.save(update_fields=["confirmed_at", "code_digest", "updated_at"])
    return result.ok


def attempt(delivery: Delivery) -> SendResult:
    """One try, in the language the request chose; never raises for a provider's error."""
    sender = component_updates.send if is_event(delivery) else SENDERS.get(delivery.channel)
    subscriber = delivery.subscriber
    if subscriber is None or sender is None:
        return SendResult(
            delivery.id, error=PermanentError("nothing to confirm: the subscriber is gone")
        )
    language = supported_language((delivery.context or {}).get("language") or subscriber.locale)
    try:
        with translation.override(language):
            return SendResult(delivery.id, provider_id=sender(delivery, subscriber))
    except DeliveryError as error:
        return SendResult(delivery.id, error=error)
    except Exception as error:  # an SDK bug must not strand the claimed row
        log.exception("confirmation %s failed", delivery.id)
        return SendResult(delivery.id, error=TransientError(f"{type(error).__name__}: {error}"))


def send_email(delivery: Delivery, subscriber: Subscriber) -> str:
    context = delivery.context or {}
    backup_for = context.get("backup_for", "")
    token = pending_token(
        subscriber, context.get("components", []), translation.get_language(), backup_for
    )
    link = absolute(reverse("notifiers:confirm-email", args=[token]))
    page = {"page_name": settings.STATUSPAGE["NAME"], "link": link, "backup": bool(backup_for)}
    subject = render_message("email", "confirm", page, "subject")
    text = render_message("email", "confirm", page, "body")
    html = render_to_string("notifiers/email_confirm.html", {**page, "subject": subject})
    body = {
        "from": email.sender(),
        "subject": subject,
        "content": [{"type": "text/plain", "value": text}, {"type": "text/html", "value": html}],
        "personalizations": [
            {"to": [{"email": delivery.target}], "custom_args": {"delivery_id": str(delivery.id)}}
        ],
        "categories": ["subscribe-confirmation"],
    }
    client = email.sendgrid_client()
    try:
        response = client.send(body)
    except Exception as error:  # classified: a provider error is retried or final, never lost
        raise email.classify(error) from None
    return (response.headers or {}).get("X-Message-Id", "")


def send_sms_code(delivery: Delivery, subscriber: Subscriber) -> str:
    """A fresh code each attempt (only its digest is stored), texted with a short validity."""
    code = subscriber.new_code(clock.now())
    subscriber.save(update_fields=["code_digest", "code_sent_at", "code_tries"])
    text = render_message(
        "sms", "confirm", {"page_name": settings.STATUSPAGE["NAME"], "code": code}, "body"
    )
    client, http = sms.twilio_client()
    try:
        message = client.messages.create(
            to=delivery.target,
            body=text,
            messaging_service_sid=sms.twilio_config()["MESSAGING_SERVICE_SID"],
            validity_period=SMS_CODE_VALIDITY_SECONDS,
        )
    except Exception as error:  # classified: a provider error is retried or final, never lost
        raise sms.classify(error, http) from None
    return message.sid


def send_webhook_ping(delivery: Delivery, subscriber: Subscriber) -> str:
    ping(subscriber)
    return ""


SENDERS: dict[str, Callable[[Delivery, Subscriber], str]] = {
    SubscriberChannel.EMAIL: send_email,
    SubscriberChannel.SMS: send_sms_code,
    SubscriberChannel.WEBHOOK: send_webhook_ping,
}
