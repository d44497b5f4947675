"""What each provider is allowed to do right now: its circuit breaker and its send pacing,
shared by every worker through one row per provider."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import models, transaction
from django.db.models import Value
from django.db.models.functions import Coalesce


class ProviderState(models.Model):
    """Shared by every worker: a provider's circuit breaker and its send pacing.

    The breaker opens after BREAKER_THRESHOLD batches in a row failed transiently and stays
    open BREAKER_COOLDOWN; while open, due deliveries are pushed back without an attempt.
    ``opened_at`` is when it opened and is kept while it keeps opening again (a trial batch
    after the cooldown failing too) until a batch goes through: how long the provider has
    been down, which decides when subscribers are reached on their backup contact.
    ``next_slot_at`` is the pacing cursor: SMS rows are given send times one sender-slot
    apart, so the provider's throughput limit is respected across announcements.
    """

    provider = models.CharField(max_length=32, unique=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    open_until = models.DateTimeField(null=True, blank=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    next_slot_at = models.DateTimeField(null=True, blank=True)

    BREAKER_THRESHOLD = 5
    BREAKER_COOLDOWN = timedelta(seconds=60)

    def __str__(self) -> str:
        return self.provider

    @classmethod
    def open_until_for(cls, provider: str, now: datetime) -> datetime | None:
        until = cls.objects.filter(provider=provider).values_list("open_until", flat=True).first()
        return until if until and until > now else None

    @classmethod
    def down_since(cls, opened_before: datetime, now: datetime) -> list[str]:
        """Providers whose breaker first opened before `opened_before` with no batch gone
        through since, and is open now or was within a cooldown (its trial batch is due or
        under way). A breaker last open long ago (no traffic since) is not down: its next
        batch is tried first."""
        return list(
            cls.objects.filter(
                opened_at__lte=opened_before, open_until__gt=now - cls.BREAKER_COOLDOWN
            ).values_list("provider", flat=True)
        )

    @classmethod
    def record_batch(cls, provider: str, all_failed_transiently: bool, now: datetime) -> None:
        """Count a batch towards the breaker. A batch that went through only reads the row
        unless it has something to reset: every batch of every worker writing the one
        shared row would queue them all on its lock."""
        if not all_failed_transiently:
            unhealthy = cls.objects.filter(provider=provider).exclude(
                consecutive_failures=0, open_until__isnull=True
            )
            if unhealthy.exists():
                unhealthy.update(consecutive_failures=0, open_until=None, opened_at=None)
            return
        state, _ = cls.objects.get_or_create(provider=provider)
        cls.objects.filter(id=state.id).update(
            consecutive_failures=models.F("consecutive_failures") + 1
        )
        state.refresh_from_db()
        if state.consecutive_failures >= cls.BREAKER_THRESHOLD:
            cls.objects.filter(id=state.id).update(
                open_until=now + cls.BREAKER_COOLDOWN,
                opened_at=Coalesce("opened_at", Value(now)),
            )

    @classmethod
    def reserve_slots(cls, provider: str, count: int, per_second: float, now: datetime) -> datetime:
        """Reserve ``count`` consecutive send slots; returns when the first one starts."""
        with transaction.atomic():
            cls.objects.get_or_create(provider=provider)
            state = cls.objects.select_for_update().get(provider=provider)
            start = max(state.next_slot_at or now, now)
            state.next_slot_at = start + timedelta(seconds=count / per_second)
            state.save(update_fields=["next_slot_at"])
        return start
