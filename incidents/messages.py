"""Message wording lives in templates/messages/<channel>/<kind>[_<part>].txt, never in Python."""

from __future__ import annotations

from typing import Any

from django.template.loader import render_to_string


def render_message(channel: str, kind: str, context: dict[str, Any], part: str = "") -> str:
    name = f"{kind}_{part}" if part else kind
    text = render_to_string(f"messages/{channel}/{name}.txt", context)
    return "\n".join(line.rstrip() for line in text.strip().splitlines())
