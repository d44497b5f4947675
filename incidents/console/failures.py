"""Deliveries that failed for good, per update and channel, with the text that failed: the
staff alert that replaces a console sitting at "sending" (issue 17)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, Max, Q

from incidents.console.preview import render_part
from incidents.models import OPEN_STATUSES, IncidentUpdate
from notifiers.models import Delivery, DeliveryState
from notifiers.registry import get_channel_class

# A resolution that failed is still worth a word for this long after the incident ended.
RECENT = timedelta(hours=24)


@dataclass(frozen=True)
class FailedChannel:
    update: IncidentUpdate
    channel: str
    count: int
    error: str
    at: datetime | None
    text: str


def failed_channels(now: datetime) -> list[FailedChannel]:
    """Each (update, channel) of an open or recently resolved incident with failed rows, in
    two queries plus the rendering of each failed channel's text."""
    rows = list(
        Delivery.objects.filter(state=DeliveryState.FAILED, announcement__isnull=False)
        .filter(
            Q(announcement__update__incident__status__in=OPEN_STATUSES)
            | Q(announcement__update__incident__resolved_at__gte=now - RECENT)
        )
        .values("announcement__update_id", "channel")
        .annotate(n=Count("id"), error=Max("last_error"), at=Max("last_attempt_at"))
        .order_by("announcement__update_id", "channel")
    )
    if not rows:
        return []
    updates = IncidentUpdate.objects.select_related("incident").in_bulk(
        {row["announcement__update_id"] for row in rows}
    )
    return [
        FailedChannel(
            update=updates[row["announcement__update_id"]],
            channel=row["channel"],
            count=row["n"],
            error=row["error"] or "",
            at=row["at"],
            text=failed_text(updates[row["announcement__update_id"]], row["channel"]),
        )
        for row in rows
        if row["announcement__update_id"] in updates
    ]


def failed_text(update: IncidentUpdate, channel: str) -> str:
    """What the channel's first previewed part reads for this update (or why it cannot)."""
    cls = get_channel_class(channel)
    parts = [p for p in cls.parts if p.preview] if cls is not None else []
    if not parts:
        return ""
    context = {
        "incident": update.incident,
        "update": update,
        "page_name": settings.STATUSPAGE["NAME"],
    }
    rendered = render_part(channel, parts[0].name, update, context)
    return rendered.text or rendered.error
