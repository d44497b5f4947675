"""Slack's incoming webhooks, ``POST /services/{workspace}/{hook}/{secret}``.

The subset we use: a JSON body with ``text`` and/or ``blocks`` (header blocks of
plain_text up to 150 characters, section blocks up to 3000), answered ``200 ok`` in plain
text; refusals are plain-text error codes as Slack's are (400 ``invalid_payload``,
``no_text``, ``invalid_blocks``; 429 ``rate_limited``). A hook whose secret starts with
``archived`` answers 410 ``channel_is_archived``. Recorded under target
``{workspace}/{hook}``, never the secret.
"""

from __future__ import annotations

import json

from aiohttp import web

from notifiers.sandbox.faults import inject_faults
from notifiers.sandbox.recorder import RECORDER_KEY, Preview

PROVIDER = "slack"
MAX_HEADER = 150
MAX_SECTION = 3000
CODES = {400: "invalid_payload", 403: "invalid_token", 404: "no_service", 429: "rate_limited"}


def refusal(status: int, code: str) -> web.Response:
    return web.Response(text=code, status=status, content_type="text/plain")


def slack_error(status: int, message: str) -> web.Response:
    """An injected fault, in the plain-text code Slack answers that status with."""
    return refusal(
        status, CODES.get(status, "rollup_error" if status >= 500 else "invalid_payload")
    )


def block_problem(blocks: object) -> str:
    """Why Slack would refuse these blocks ("" if it would not). Only header and section
    blocks are in our subset; anything else is refused as Slack refuses a malformed block."""
    if not isinstance(blocks, list):
        return "invalid_blocks"
    for block in blocks:
        text = block.get("text") if isinstance(block, dict) else None
        if not isinstance(text, dict) or not isinstance(text.get("text"), str):
            return "invalid_blocks"
        if block.get("type") == "header":
            fits = text.get("type") == "plain_text" and len(text["text"]) <= MAX_HEADER
        else:
            fits = block.get("type") == "section" and len(text["text"]) <= MAX_SECTION
        if not fits:
            return "invalid_blocks"
    return ""


@inject_faults(PROVIDER, slack_error)
async def incoming_webhook(request: web.Request) -> web.Response:
    if request.match_info["secret"].startswith("archived"):
        return refusal(410, "channel_is_archived")
    try:
        body = json.loads(await request.read())
    except ValueError:
        return refusal(400, "invalid_payload")
    if not isinstance(body, dict):
        return refusal(400, "invalid_payload")
    if not body.get("text") and not body.get("blocks"):
        return refusal(400, "no_text")
    problem = block_problem(body.get("blocks", []))
    if problem:
        return refusal(400, problem)
    target = f"{request.match_info['workspace']}/{request.match_info['hook']}"
    request.app[RECORDER_KEY].add(PROVIDER, "post", target, body, _preview(body))
    return web.Response(text="ok", content_type="text/plain")


def _preview(body: dict) -> Preview:
    sections = [b["text"]["text"] for b in body.get("blocks", []) if b.get("type") == "section"]
    return Preview(title=str(body.get("text", "")), body="\n".join(sections))


def register(app: web.Application) -> None:
    app.router.add_post(
        "/services/{workspace}/{hook}/{secret}", incoming_webhook, name="slack_incoming_webhook"
    )
