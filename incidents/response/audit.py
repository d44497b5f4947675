"""The audit log: every staff and clock action on an incident, with its before and after."""

from __future__ import annotations

from datetime import datetime

from incidents.models import AuditEvent, Incident

WATCHED_FIELDS = ("status", "impact", "acknowledged_at", "held_until", "published_at", "name")


def snapshot(incident: Incident) -> dict:
    """The incident fields an auditor compares, as JSON-safe values."""
    values = {}
    for name in WATCHED_FIELDS:
        value = getattr(incident, name)
        values[name] = value.isoformat() if isinstance(value, datetime) else value
    return values


def record(
    incident: Incident | None,
    actor,
    action: str,
    now: datetime,
    before: dict | None = None,
    after: dict | None = None,
    reason: str = "",
    via: str = "",
    contact: str = "",
) -> AuditEvent:
    return AuditEvent.objects.create(
        incident=incident,
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        action=action,
        before=before,
        after=after,
        reason=reason,
        via=via,
        contact=contact[:200],
        at=now,
    )
