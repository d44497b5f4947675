"""`component_update` webhook events, in Statuspage's shape, through the outbox.

A component's status change (a ComponentStatusChange row) writes one Delivery per active
webhook subscriber following that component (or every component), in the transaction that
records the change: the event cannot be lost between them. Like a confirmation, the row has
no announcement; its `context` names the change. The send task claims it by conditional
UPDATE before the endpoint is called and records the outcome; transient failures are
retried with the outbox's backoff by the confirmation sweep (`confirmations.retry_due`).

A component private to some audiences is told of only to their pages' subscribers, as
their private incidents are (`Subscriber.objects.hearing_about`). Only Statuspage-format
webhooks get these events: a Slack or Teams channel is told about
incidents, not every component flap.
"""

from __future__ import annotations

from datetime import datetime

from notifiers.channels.context import unsubscribe_url
from notifiers.channels.webhook import component_update_payload, post_signed
from notifiers.delivery.dispatch import enqueue
from notifiers.models import SEND_QUEUE_LEASE, Delivery
from notifiers.registry import PermanentError
from notifiers.subscribers import Subscriber, SubscriberChannel, WebhookFormat
from statuspage.models import ComponentStatusChange

EVENT = "component_update"
SEND_TASK = "notifiers.delivery.confirmations.send"


def record(change: ComponentStatusChange, now: datetime) -> list[int]:
    """Write the change's deliveries and queue their sends once the transaction commits."""
    subscribers = (
        Subscriber.objects.active()
        .filter(channel=SubscriberChannel.WEBHOOK, webhook_format=WebhookFormat.STATUSPAGE)
        .following([change.component_id])
    )
    private_to = list(change.component.private_to.values_list("id", flat=True))
    if private_to:  # a private component's changes reach only its audiences' subscribers
        subscribers = subscribers.filter(audience_id__in=private_to)
    rows = Delivery.objects.bulk_create(
        Delivery(
            channel=SubscriberChannel.WEBHOOK,
            target=address,
            subscriber_id=subscriber_id,
            context={EVENT: change.id},
            next_attempt_at=now + SEND_QUEUE_LEASE,
            created_at=now,
        )
        for subscriber_id, address in subscribers.values_list("id", "address")
    )
    ids = [row.id for row in rows]
    for delivery_id in ids:
        enqueue(SEND_TASK, delivery_id)
    return ids


def is_event(delivery: Delivery) -> bool:
    return EVENT in (delivery.context or {})


def send(delivery: Delivery, subscriber: Subscriber) -> str:
    """POST the event, signed with the subscriber's secret; DeliveryError unless taken."""
    change = (
        ComponentStatusChange.objects.select_related("component")
        .filter(id=(delivery.context or {})[EVENT])
        .first()
    )
    if change is None:
        raise PermanentError("the component (and its history) was deleted")
    payload = component_update_payload(change, unsubscribe_url(subscriber.public_id))
    response = post_signed(delivery.target, subscriber.signing_secret, payload)
    return response.headers.get("X-Request-Id", "")[:200]
