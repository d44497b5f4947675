"""Reach subscribers on their backup contact while their first channel's provider is down.

A delivery failing permanently falls back at once (`dispatch.fall_back`). A provider
outage fails nothing: the circuit breaker holds the rows pending, possibly for hours. Once
a provider's breaker has been open for `NOTIFIERS["BACKUP_AFTER_BREAKER_OPEN_MINUTES"]`,
this engine housekeeping sweep writes, for each pending delivery on it whose subscriber
has a confirmed backup, the same update to that backup contact, once per (update,
contact): the outbox's unique key holds across engines and restarts, and a contact sent
the update already (on any channel) is skipped.

The stuck first delivery stays pending and is still sent when the provider recovers
(unless a newer update of the incident supersedes it first): "sent" on the backup only
means its provider accepted it, not that the person read it, and the first channel is the
one they chose to watch. For people acting on an alert a second copy is a small cost; a
missed one is not.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Exists, OuterRef

from notifiers.delivery.dispatch import fall_back
from notifiers.models import BackupReason, Delivery, DeliveryState, ProviderState
from notifiers.registry import registered
from notifiers.subscribers import Subscriber

log = logging.getLogger(__name__)

SWEEP_LIMIT = 1000


def backup_threshold() -> timedelta:
    return timedelta(minutes=settings.NOTIFIERS["BACKUP_AFTER_BREAKER_OPEN_MINUTES"])


def channels_down(now: datetime) -> list[str]:
    """The channels whose provider's breaker has been open longer than the threshold."""
    down = set(ProviderState.down_since(now - backup_threshold(), now))
    if not down:
        return []
    return [
        channel.name
        for channel in registered().values()
        if (channel.provider or channel.name) in down
    ]


def stuck_deliveries(channels: list[str]) -> list[tuple[int, int]]:
    """(update id, subscriber id) of pending deliveries on these channels whose subscriber
    has an active backup contact not yet given this update, at most SWEEP_LIMIT a sweep."""
    backup_given = Delivery.objects.filter(
        announcement__update_id=OuterRef("announcement__update_id"),
        subscriber_id=OuterRef("subscriber__fallback_id"),
    )
    active_backup = Subscriber.objects.active().filter(id=OuterRef("subscriber__fallback_id"))
    return list(
        Delivery.objects.filter(
            state=DeliveryState.PENDING,
            channel__in=channels,
            announcement__isnull=False,
            subscriber__fallback__isnull=False,
        )
        .filter(Exists(active_backup), ~Exists(backup_given))
        .values_list("announcement__update_id", "subscriber_id")
        .order_by()[:SWEEP_LIMIT]
    )


def send_backups_due(now: datetime) -> int:
    """The housekeeping sweep; returns how many backup deliveries it wrote."""
    channels = channels_down(now)
    if not channels:
        return 0
    by_update: dict[int, list[int]] = defaultdict(list)
    for update_id, subscriber_id in stuck_deliveries(channels):
        by_update[update_id].append(subscriber_id)
    written = sum(
        fall_back(update_id, subscriber_ids, now, BackupReason.PROVIDER_DOWN)
        for update_id, subscriber_ids in by_update.items()
    )
    if written:
        log.warning("%s deliveries sent on backup: %s down", written, ", ".join(channels))
    return written
