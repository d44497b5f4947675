"""Small filters the message templates share, so each channel's file needs only the update."""

from __future__ import annotations

from django import template
from django.conf import settings

from incidents.overrides import unseal

register = template.Library()


@register.filter
def permalink(incident, audience=None) -> str:
    """The one short link every channel uses: the incident's page, on `audience`'s
    private page for an incident private to it (Incident.message_link)."""
    return unseal(incident).message_link(audience or None)


@register.filter
def component_names(incident) -> str:
    return ", ".join(c.name for c in unseal(incident).components.all())


@register.filter
def advice_text(incident) -> str:
    """Each affected component's backup advice, once each, in one paragraph."""
    seen: list[str] = []
    for component in unseal(incident).components.all():
        if component.advice and component.advice not in seen:
            seen.append(component.advice)
    return " ".join(seen)


@register.filter
def app_names(incident) -> str:
    components = unseal(incident).components.all()
    names = sorted({a.name for c in components for a in c.audiences.all()})
    return ", ".join(names)


@register.filter
def console_link(incident) -> str:
    return f"{settings.STATUSPAGE['URL']}/manage/incidents/{incident.public_id}"


@register.filter
def shorten(text, length: int) -> str:
    """Cut at a word boundary with '...': the GSM-7 dots keep an SMS in its cheap encoding."""
    text = str(text)
    if len(text) <= int(length):
        return text
    cut = text[: int(length) - 3].rsplit(" ", 1)[0]
    return cut.rstrip(",.;: ") + "..."


@register.filter
def fit(text, cap) -> str:
    """A part under a shortening step's cap (incidents.messages.fitted): no cap ("", the
    message fits whole) leaves it as written, 0 drops it."""
    if cap in ("", None):
        return str(text)
    if int(cap) <= 0:
        return ""
    return shorten(text, cap)
