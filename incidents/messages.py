"""Message wording lives in templates/messages/<channel>/<kind>[_<part>].txt, never in Python.

An admin may override any one file for one locale (MessageTemplate). A rendered part over its
channel's limit is shortened by rule (`fitted`): the advice first, then the body, in the
steps of `STEPS`, while the headline, "next update by" and the link stay whole. Templates
take part by wrapping the advice and the body in the `fit` filter with `advice_cap` and
`body_cap` (templates/messages/_shared/short.txt). Only a part that no step makes fit is an
error (MessageTooLong), shown in the console's preview and failing the delivery at once.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.template import Context, TemplateSyntaxError
from django.template.loader import get_template
from django.utils import translation

from incidents.limits import MessageTooLong, folder, problem
from incidents.models import MessageTemplate
from incidents.overrides import compile_override, seal

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Cut:
    """One shortening step: the advice and the body at most this many characters (None:
    whole, 0: left out)."""

    advice: int | None = None
    body: int | None = None

    def context(self) -> dict[str, Any]:
        return {
            "advice_cap": "" if self.advice is None else self.advice,
            "body_cap": "" if self.body is None else self.body,
        }


WHOLE = Cut()
SPACES = re.compile(r" {2,}")
STEPS = (
    WHOLE,
    *(Cut(advice=cap) for cap in (200, 160, 120, 90, 60, 40, 0)),
    *(Cut(advice=0, body=cap) for cap in (100, 70, 45, 25, 0)),
)


@dataclass(frozen=True)
class Fitted:
    """A rendered part and the step that made it fit (WHOLE: nothing was cut)."""

    text: str
    cut: Cut = WHOLE
    # Rewritten by the part's fold (SMS: accents dropped) to fit.
    folded: bool = False

    @property
    def shortened(self) -> bool:
        return self.cut != WHOLE


def locale() -> str:
    return (translation.get_language() or "en").split("-")[0]


def override_for(channel: str, kind: str, part: str) -> str | None:
    return (
        MessageTemplate.objects.filter(channel=channel, kind=kind, part=part, locale=locale())
        .values_list("body", flat=True)
        .first()
    )


def overrides_for(channel: str) -> dict[tuple[str, str], str]:
    """Every override of one channel in the active locale, by (kind, part), in one query:
    for code that renders a list of messages (the console's staff alerts)."""
    rows = MessageTemplate.objects.filter(channel=channel, locale=locale())
    return {(kind, part): body for kind, part, body in rows.values_list("kind", "part", "body")}


def render_message(
    channel: str,
    kind: str,
    context: dict[str, Any],
    part: str = "",
    overrides: dict[tuple[str, str], str] | None = None,
    override: str | None = None,
) -> str:
    """The part's text within its channel's limit (see `fitted`)."""
    return fitted(channel, kind, context, part, overrides, override).text


def fitted(
    channel: str,
    kind: str,
    context: dict[str, Any],
    part: str = "",
    overrides: dict[tuple[str, str], str] | None = None,
    override: str | None = None,
) -> Fitted:
    """Render the part whole, or else at the first step of STEPS that fits its channel's
    limit; MessageTooLong (saying by how much the whole text is over) when none does.

    `overrides` (from overrides_for) saves the query that looks for this file's override;
    `override` renders a template body not saved yet (the admin's check when written)."""
    if override is None:
        override = (
            override_for(channel, kind, part) if overrides is None else overrides.get((kind, part))
        )
    render = renderer(channel, kind, part, override)
    fold = folder(channel, part)
    first = ""
    # The audience a message goes to, if any: the `permalink` filter's argument.
    context = {"audience": None, **context}
    for cut in STEPS:
        text = render({**context, **cut.context()}, cut != WHOLE)
        for candidate in (text, fold(text)) if fold else (text,):
            detail = problem(channel, part, candidate)
            if not detail:
                return Fitted(candidate, cut, folded=candidate != text)
            first = first or detail
    raise MessageTooLong(channel, part, f"{first}, and still over with the advice and body cut")


Raw = Callable[[dict[str, Any]], str]


def renderer(channel: str, kind: str, part: str, override: str | None):
    """A function rendering the part from `context`, its lines trimmed."""
    raw = (sandboxed(channel, kind, part, override) if override is not None else None) or shipped(
        channel, kind, part
    )

    def render(context: dict[str, Any], cut: bool) -> str:
        lines = raw(context).strip().splitlines()
        if cut:
            return "\n".join(SPACES.sub(" ", line).strip() for line in lines)
        return "\n".join(line.rstrip() for line in lines)

    return render


def sandboxed(channel: str, kind: str, part: str, override: str) -> Raw | None:
    """The override rendered in the sandbox (incidents.overrides); None when the sandbox
    refuses it (saved before the sandbox, or outside the admin): the shipped wording goes out."""
    try:
        template = compile_override(override)
    except TemplateSyntaxError as refused:
        log.warning("override of %s/%s_%s refused: %s", channel, kind, part, refused)
        return None
    return lambda context: template.render(Context(seal(context), autoescape=False))


def shipped(channel: str, kind: str, part: str) -> Raw:
    name = f"{kind}_{part}" if part else kind
    return get_template(f"messages/{channel}/{name}.txt").render
