"""What a provider's webhook already told us, so a replayed request changes nothing.

SendGrid signs a timestamp: a batch older than WEBHOOK_REPLAY_TOLERANCE_SECONDS is refused
outright, and each event's `sg_event_id` is remembered for that window, which is all a
replay can use. Twilio signs no time at all: its status callbacks are remembered for the
same window (a replay of one only repeats a status), and the texts sent to our number
(STOP, START) for TWILIO_INBOUND_MEMORY_DAYS, because a replayed START would re-enable a
number whose owner said STOP.

Rows live in the database, not the cache: every web worker and node sees them at once, they
survive restarts and a cache eviction, and "seen for the first time" is one INSERT against
a unique key, so two workers handed the same replay at once cannot both act on it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, models, transaction

SENDGRID_EVENT = "sendgrid"
TWILIO_STATUS = "twilio-status"
TWILIO_INBOUND = "twilio-inbound"


def memory(source: str) -> timedelta:
    if source == TWILIO_INBOUND:
        return timedelta(days=settings.TWILIO_INBOUND_MEMORY_DAYS)
    return timedelta(seconds=settings.WEBHOOK_REPLAY_TOLERANCE_SECONDS)


def fresh(timestamp: str, now: datetime) -> bool:
    """A signed unix timestamp within the tolerance of now, either way."""
    try:
        signed_at = int(timestamp)
    except ValueError:
        return False
    return abs(now.timestamp() - signed_at) <= settings.WEBHOOK_REPLAY_TOLERANCE_SECONDS


class SeenProviderEvent(models.Model):
    source = models.CharField(max_length=16)
    event_id = models.CharField(max_length=200)
    seen_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "event_id"], name="provider_event_once")
        ]
        indexes = [models.Index(fields=["source", "seen_at"], name="provider_event_age")]

    @classmethod
    def first_time(cls, source: str, event_id: str, now: datetime) -> bool:
        """Record the event; False if it was seen within its source's memory (a replay)."""
        cls.objects.filter(source=source, seen_at__lt=now - memory(source)).delete()
        try:
            with transaction.atomic():
                cls.objects.create(source=source, event_id=event_id[:200], seen_at=now)
        except IntegrityError:
            return False
        return True
