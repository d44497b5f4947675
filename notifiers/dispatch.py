"""From an announcement to delivered messages: fan out into the outbox, then send in batches.

Each step runs in a django-q2 task enqueued after the transaction that made its input
commits, and each is safe to run twice: deliveries are unique per (announcement, target)
and are claimed with a conditional UPDATE before any provider is called.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime

from django.db import transaction
from django_q.tasks import async_task

from notifiers.channels import get_channel
from notifiers.channels.base import SendResult, TransientError
from notifiers.models import Announcement, Delivery, DeliveryState, Recipients
from statuspage import clock
from statuspage.models import Audience

log = logging.getLogger(__name__)

PUSH = "push"


def enqueue(func: str, *args) -> None:
    """Queue a task once the current transaction commits, passing ids, never objects."""
    transaction.on_commit(lambda: async_task(func, *args, group=func.rsplit(".", 1)[-1]))


def announce(
    update, channel: str, recipients: str, audience: Audience | None, now: datetime
) -> Announcement:
    """Publish an update on a channel to recipients, once: a repeat call changes nothing."""
    announcement, created = Announcement.objects.get_or_create(
        update=update,
        channel=channel,
        recipients=recipients,
        audience=audience,
        defaults={"created_at": now},
    )
    if created:
        enqueue("notifiers.dispatch.fan_out", announcement.id)
    return announcement


def announce_to_apps(update, audiences: Iterable[Audience], now: datetime) -> list[Announcement]:
    if not update.deliver_notifications:
        return []
    return [announce(update, PUSH, Recipients.APP_USERS, audience, now) for audience in audiences]


def load_announcement(announcement_id: int) -> Announcement | None:
    """The announcement, or None if it was deleted (with its incident) before the task ran."""
    announcement = (
        Announcement.objects.select_related("update__incident", "audience")
        .filter(id=announcement_id)
        .first()
    )
    if announcement is None:
        log.warning("announcement %s no longer exists; nothing to send", announcement_id)
    return announcement


def fan_out(announcement_id: int) -> int:
    """Write one pending delivery per target; returns how many rows are new."""
    announcement = load_announcement(announcement_id)
    if announcement is None:
        return 0
    channel = get_channel(announcement.channel)
    now = clock.now()
    with transaction.atomic():
        rows = [
            Delivery(
                announcement=announcement,
                channel=announcement.channel,
                target=target,
                next_attempt_at=now,
                created_at=now,
            )
            for target in channel.targets(announcement)
        ]
        before = announcement.deliveries.count()
        Delivery.objects.bulk_create(rows, ignore_conflicts=True, batch_size=1000)
        created = announcement.deliveries.count() - before
        Announcement.objects.filter(id=announcement.id).update(fanned_out_at=now)
        queue_send(announcement.id, now)
    return created


def queue_send(announcement_id: int, now: datetime) -> bool:
    if not Announcement.mark_send_queued(announcement_id, now):
        return False
    enqueue("notifiers.dispatch.send_due", announcement_id)
    return True


def send_due(announcement_id: int) -> int:
    """Send every delivery of this announcement that is due now; returns how many were sent."""
    announcement = load_announcement(announcement_id)
    if announcement is None:
        return 0
    channel = get_channel(announcement.channel)
    message = channel.render(announcement)
    sent = 0
    while True:
        now = clock.now()
        ids = list(
            announcement.deliveries.due(now).order_by("id").values_list("id", flat=True)[
                : channel.batch_size
            ]
        )
        if not ids:
            Announcement.objects.filter(id=announcement.id).update(send_queued_at=None)
            return sent
        batch = Delivery.objects.claim(ids, now)
        if not batch:
            continue
        results = send_batch_safely(channel, message, batch)
        sent += record_results(batch, results, clock.now())


def send_batch_safely(channel, message, batch: list[Delivery]) -> list[SendResult]:
    try:
        return channel.send_batch(message, batch)
    except Exception as exc:  # an SDK bug or outage must not strand claimed rows
        log.exception("%s batch failed as a whole", channel.name)
        error = TransientError(f"{type(exc).__name__}: {exc}")
        return [SendResult(delivery_id=d.id, error=error) for d in batch]


def record_results(batch: list[Delivery], results: list[SendResult], now: datetime) -> int:
    by_id = {result.delivery_id: result for result in results}
    for delivery in batch:
        result = by_id.get(delivery.id) or SendResult(
            delivery.id, error=TransientError("the channel reported no result")
        )
        if result.ok:
            delivery.record_sent(result.provider_id, now)
        else:
            delivery.record_failure(result.error, now)
    Delivery.objects.bulk_update(
        batch,
        ["state", "provider_message_id", "sent_at", "last_error", "claim_token", "next_attempt_at"],
    )
    return sum(1 for d in batch if d.state == DeliveryState.SENT)


def retry_due(now: datetime) -> int:
    """Requeue deliveries lost with a dead worker, and queue a send for each announcement
    with deliveries due (retries, and sends whose task the broker lost)."""
    Delivery.objects.requeue_stale(now)
    ids = Delivery.objects.due(now).values_list("announcement_id", flat=True).distinct()[:1000]
    with transaction.atomic():
        return sum(queue_send(announcement_id, now) for announcement_id in list(ids))
