"""Exactly what each audience will receive, rendered from the same templates the channels use."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings

from incidents.limits import MessageTooLong
from incidents.messages import render_message
from incidents.models import Incident, IncidentStatus, IncidentUpdate
from incidents.response.publishing import registered_channels, told
from notifiers.models import Recipients
from statuspage.models import Audience

CHANNEL_PARTS = [
    ("push", ["title", "body"]),
    ("sms", ["body"]),
    ("email", ["subject", "text"]),
    ("voice", ["body"]),
    ("x", ["body"]),
    ("bluesky", ["body"]),
    ("mastodon", ["body"]),
    ("facebook", ["body"]),
    ("webhook", ["text"]),
]


@dataclass
class PreviewPart:
    part: str
    text: str = ""
    error: str = ""


@dataclass
class ChannelPreview:
    channel: str
    parts: list[PreviewPart]
    audiences: list[str]
    available: bool

    @property
    def has_error(self) -> bool:
        return any(p.error for p in self.parts)


def draft_update(
    incident: Incident, body: str, status: str, now: datetime, next_minutes: int
) -> IncidentUpdate:
    kind = (
        IncidentUpdate.Kind.RESOLVED
        if status == IncidentStatus.RESOLVED
        else IncidentUpdate.Kind.UPDATE
    )
    next_by = None if status == IncidentStatus.RESOLVED else now + timedelta(minutes=next_minutes)
    return IncidentUpdate(
        incident=incident,
        kind=kind,
        status=status,
        body=body,
        next_update_by=next_by,
        display_at=now,
        created_at=now,
        updated_at=now,
    )


def audiences_by_channel(incident: Incident | None) -> dict[str, list[str]]:
    """Who is told on each channel today; a new incident goes where its policy sends it."""
    labels = {
        Recipients.SUBSCRIBERS: "subscribers of the affected components",
        Recipients.COMPONENT_TOPICS: "app users following the affected components",
        Recipients.PUBLIC: "the public",
        Recipients.ONCALL: "on-call staff",
    }
    apps = dict(Audience.objects.values_list("id", "name"))
    result: dict[str, list[str]] = {}
    if incident is not None and incident.pk:
        for channel, recipients, audience_id in told(incident):
            label = (
                f"users of {apps.get(audience_id, '?')}"
                if recipients == Recipients.APP_USERS
                else labels[recipients]
            )
            if label not in result.setdefault(channel, []):
                result[channel].append(label)
    return result


def build(update: IncidentUpdate) -> list[ChannelPreview]:
    context = {
        "incident": update.incident,
        "update": update,
        "page_name": settings.STATUSPAGE["NAME"],
    }
    available = registered_channels()
    told_on = audiences_by_channel(update.incident)
    previews = [ChannelPreview("page", [PreviewPart("body", update.body)], ["Status page"], True)]
    for channel, parts in CHANNEL_PARTS:
        rendered = []
        for part in parts:
            try:
                rendered.append(
                    PreviewPart(part, render_message(channel, update.kind, context, part))
                )
            except MessageTooLong as error:
                rendered.append(PreviewPart(part, "", str(error)))
        previews.append(
            ChannelPreview(channel, rendered, told_on.get(channel, []), channel in available)
        )
    return previews


def errors(previews: list[ChannelPreview]) -> list[str]:
    return [p.error for preview in previews if preview.available for p in preview.parts if p.error]
