"""Message wording lives in templates/messages/<channel>/<kind>[_<part>].txt, never in Python.

An admin may override any one file for one locale (MessageTemplate); the rendered text is
checked against the channel's limit here, at render time, so an over-long message is a
clear error (shown in the console's preview) instead of a provider's truncation.
"""

from __future__ import annotations

import logging
from typing import Any

from django.template import TemplateSyntaxError
from django.template.loader import render_to_string
from django.utils import translation

from incidents.limits import check
from incidents.models import MessageTemplate
from incidents.overrides import render_override

log = logging.getLogger(__name__)


def override_for(channel: str, kind: str, part: str) -> str | None:
    locale = (translation.get_language() or "en").split("-")[0]
    return (
        MessageTemplate.objects.filter(channel=channel, kind=kind, part=part, locale=locale)
        .values_list("body", flat=True)
        .first()
    )


def overrides_for(channel: str) -> dict[tuple[str, str], str]:
    """Every override of one channel in the active locale, by (kind, part), in one query:
    for code that renders a list of messages (the console's staff alerts)."""
    locale = (translation.get_language() or "en").split("-")[0]
    rows = MessageTemplate.objects.filter(channel=channel, locale=locale)
    return {(kind, part): body for kind, part, body in rows.values_list("kind", "part", "body")}


def render_message(
    channel: str,
    kind: str,
    context: dict[str, Any],
    part: str = "",
    overrides: dict[tuple[str, str], str] | None = None,
) -> str:
    """`overrides` (from overrides_for) saves the query that looks for this file's override."""
    if overrides is None:
        override = override_for(channel, kind, part)
    else:
        override = overrides.get((kind, part))
    text = ""
    if override is not None:
        try:
            text = render_override(override, context)
        except TemplateSyntaxError as refused:
            # Saved before the sandbox or outside the admin: the shipped wording goes out.
            log.warning("override of %s/%s_%s refused: %s", channel, kind, part, refused)
            override = None
    if override is None:
        name = f"{kind}_{part}" if part else kind
        text = render_to_string(f"messages/{channel}/{name}.txt", context)
    text = "\n".join(line.rstrip() for line in text.strip().splitlines())
    check(channel, part, text)
    return text
