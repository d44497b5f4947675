"""Exactly what each audience will receive, rendered from the same templates the channels use.

Which channels and parts are shown is each channel's declaration (`Channel.recipients` and
`Channel.parts`, read through notifiers.registry): every registered channel that reaches
someone this update can reach, with each part it declares for the preview.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import translation

from incidents.limits import MessageTooLong
from incidents.messages import fitted, render_message
from incidents.models import Incident, IncidentStatus, IncidentUpdate
from incidents.response.publishing import PUBLIC_RECIPIENTS, tells_oncall, told
from notifiers.models import Recipients
from notifiers.registry import Channel, by_priority
from statuspage.models import Audience


@dataclass
class PreviewPart:
    part: str
    text: str = ""
    error: str = ""
    # What the shortening rule cut to fit the channel's budget (incidents.messages.fitted).
    note: str = ""
    # Set on the other languages' renderings: shown, never blocking (a translation over its
    # budget is sent in the default language instead).
    language: str = ""


@dataclass
class ChannelPreview:
    channel: str
    parts: list[PreviewPart]
    audiences: list[str]

    @property
    def has_error(self) -> bool:
        return any(p.error and not p.language for p in self.parts)


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
    labels: dict[str, str] = {
        Recipients.SUBSCRIBERS: "subscribers of the affected components",
        Recipients.COMPONENT_TOPICS: "app users following the affected components",
        Recipients.PUBLIC: "the public",
        Recipients.ONCALL: "on-call staff",
    }
    apps: dict[int | None, str] = dict(Audience.objects.values_list("id", "name"))
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


def previewed_channels(update: IncidentUpdate) -> list[type[Channel]]:
    """The registered channels whose role reaches anyone this update can reach: the public's
    recipients, and on-call staff when it is the resolution."""
    reach = {*PUBLIC_RECIPIENTS, *([Recipients.ONCALL] if tells_oncall(update) else [])}
    return [cls for cls in by_priority() if cls.recipients & reach]


def render_part(
    channel: str, part: str, update: IncidentUpdate, context: dict, language: str = ""
) -> PreviewPart:
    label = f"{part} ({language})" if language else part
    try:
        result = fitted(channel, update.kind, context, part)
    except MessageTooLong as error:
        return PreviewPart(label, "", str(error), language=language)
    note = render_message("staff", "cut", {"cut": result.cut}) if result.shortened else ""
    return PreviewPart(label, result.text, note=note, language=language)


def other_languages() -> list[str]:
    active = (translation.get_language() or settings.LANGUAGE_CODE).split("-")[0]
    return [code for code, _ in settings.LANGUAGES if code != active]


def budgeted_parts(cls: type[Channel], update: IncidentUpdate, context: dict) -> list[PreviewPart]:
    """The channel's budgeted parts in every other language, with what each would cut."""
    parts = []
    for language in other_languages():
        with translation.override(language):
            parts += [
                render_part(cls.name, p.name, update, context, language)
                for p in cls.parts
                if p.preview and p.limit is not None
            ]
    return parts


def build(update: IncidentUpdate) -> list[ChannelPreview]:
    context = {
        "incident": update.incident,
        "update": update,
        "page_name": settings.STATUSPAGE["NAME"],
    }
    told_on = audiences_by_channel(update.incident)
    previews = [ChannelPreview("page", [PreviewPart("body", update.body)], ["Status page"])]
    for cls in previewed_channels(update):
        parts = [render_part(cls.name, p.name, update, context) for p in cls.parts if p.preview]
        parts += budgeted_parts(cls, update, context)
        previews.append(ChannelPreview(cls.name, parts, told_on.get(cls.name, [])))
    return previews


def errors(previews: list[ChannelPreview]) -> list[str]:
    """What blocks posting: a part in the language being posted that cannot be sent."""
    return [p.error for preview in previews for p in preview.parts if p.error and not p.language]
