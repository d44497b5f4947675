"""Delivery progress per update and channel, read from the notifiers' outbox in two queries."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Count, Max

from incidents.models import Incident
from notifiers.models import Delivery, DeliveryState

THROUGHPUT_WINDOW = timedelta(seconds=60)


@dataclass
class ChannelProgress:
    channel: str
    counts: dict[str, int] = field(default_factory=dict)
    rate_per_second: float = 0.0
    # One failed row's reason (the newest by text order), shown beside the counts at once.
    failure: str = ""

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def done(self) -> int:
        return sum(
            self.counts.get(s, 0)
            for s in (DeliveryState.SENT, DeliveryState.FAILED, DeliveryState.SUPERSEDED)
        )

    @property
    def remaining(self) -> int:
        return self.total - self.done

    @property
    def percent(self) -> int:
        return round(100 * self.done / self.total) if self.total else 100

    @property
    def eta_seconds(self) -> int | None:
        """Time left at the provider's measured pace over the last minute; None if unknown."""
        if not self.remaining:
            return 0
        if self.rate_per_second <= 0:
            return None
        return max(1, round(self.remaining / self.rate_per_second))


def progress(incident: Incident, now: datetime) -> dict[int, list[ChannelProgress]]:
    """{update id: [per-channel progress]} for every announced update of the incident."""
    rows = (
        Delivery.objects.filter(announcement__update__incident=incident)
        .values("announcement__update_id", "channel", "state")
        .annotate(n=Count("id"), error=Max("last_error"))
    )
    recent = dict(
        Delivery.objects.filter(state=DeliveryState.SENT, sent_at__gte=now - THROUGHPUT_WINDOW)
        .values("channel")
        .annotate(n=Count("id"))
        .values_list("channel", "n")
    )
    result: dict[int, dict[str, ChannelProgress]] = {}
    for row in rows:
        channels = result.setdefault(row["announcement__update_id"], {})
        item = channels.setdefault(
            row["channel"],
            ChannelProgress(
                row["channel"],
                rate_per_second=recent.get(row["channel"], 0) / THROUGHPUT_WINDOW.total_seconds(),
            ),
        )
        item.counts[row["state"]] = row["n"]
        if row["state"] == DeliveryState.FAILED:
            item.failure = row["error"] or ""
    return {
        update_id: sorted(c.values(), key=lambda p: p.channel) for update_id, c in result.items()
    }
