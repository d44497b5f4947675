"""Who heard about an incident, on which channel, and when: read from the outbox.

`manage.py demo replay` measures its story with this and keeps the result as a JSON record in
var/ (`save`), which the console's replay page reads (`load`) beside the original outage's
timeline. Measured, never assumed: a row is a delivery the provider accepted, and deliveries
that failed or are still waiting are counted beside it.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.db.models import Count, Min, Q

from incidents.models import Incident
from notifiers.models import Delivery, DeliveryState
from notifiers.recipients import Recipients

RECORD_FILE = "demo-replay.json"
# The status page and the in-app banner show an incident from the moment it is published,
# to anyone who looks at the page and to the users of the affected apps.
VISITORS = "visitors"
PUBLISHED_ON = (("page", VISITORS), ("banner", Recipients.APP_USERS))


@dataclass
class Heard:
    channel: str
    recipients: str
    first_at: datetime | None
    minutes_after: float | None
    sent: int
    not_sent: int
    kinds: list[str] = field(default_factory=list)


def minutes_between(start: datetime, end: datetime | None) -> float | None:
    return None if end is None else round((end - start).total_seconds() / 60, 1)


def measure(incident: Incident, since: datetime) -> list[Heard]:
    """Each channel's first message out, in order, `minutes_after` counted from `since`."""
    rows = [
        Heard(
            name,
            who,
            incident.published_at,
            minutes_between(since, incident.published_at),
            int(incident.published_at is not None),
            int(incident.published_at is None),
        )
        for name, who in PUBLISHED_ON
    ]
    rows += delivered(incident, since)
    return sorted(rows, key=lambda row: (row.first_at is None, row.first_at or since))


def delivered(incident: Incident, since: datetime) -> list[Heard]:
    """One row per channel and kind of recipient, in one query over the outbox."""
    sent = Q(state=DeliveryState.SENT)
    groups = (
        Delivery.objects.filter(announcement__update__incident=incident)
        .values("channel", "announcement__recipients")
        .annotate(
            first_at=Min("sent_at", filter=sent),
            sent=Count("id", filter=sent),
            not_sent=Count("id", filter=~sent & ~Q(state=DeliveryState.SUPERSEDED)),
        )
        .order_by()
    )
    kinds = kinds_sent(incident)
    return [
        Heard(
            group["channel"],
            group["announcement__recipients"],
            group["first_at"],
            minutes_between(since, group["first_at"]),
            group["sent"],
            group["not_sent"],
            kinds.get((group["channel"], group["announcement__recipients"]), []),
        )
        for group in groups
    ]


def kinds_sent(incident: Incident) -> dict[tuple[str, str], list[str]]:
    """Which kinds of update (opened, holding...) got through on each channel, in order."""
    rows = (
        Delivery.objects.filter(announcement__update__incident=incident, state=DeliveryState.SENT)
        .values_list("channel", "announcement__recipients", "announcement__update__kind")
        .annotate(first=Min("sent_at"))
        .order_by("first")
    )
    kinds: dict[tuple[str, str], list[str]] = {}
    for channel, recipients, kind, _first in rows:
        kinds.setdefault((channel, recipients), []).append(kind)
    return kinds


def record_path() -> Path:
    return Path(settings.VAR_DIR) / RECORD_FILE


def save(record: dict) -> None:
    record_path().write_text(json.dumps(record, indent=2, default=str))


def load() -> dict | None:
    """The last replay's record; None when no replay ran or its file is unreadable."""
    try:
        return json.loads(record_path().read_text())
    except (OSError, ValueError):
        return None


def as_record(rows: list[Heard]) -> list[dict]:
    return [asdict(row) for row in rows]
