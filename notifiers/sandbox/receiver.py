"""Endpoints standing in for subscribers' webhook receivers (and Slack/Teams hooks).

``POST /_sandbox/hooks/{name}`` records the JSON body with its headers under target
``name`` (fault injection applies as provider ``webhook``). A body carrying a
``challenge`` (our verification ping) is answered with that challenge echoed, as a
well-behaved receiver does; ``/_sandbox/hooks/gone-*`` answers 410 Gone, and
``/_sandbox/hooks/mute-*`` records but answers 200 without echoing anything (a receiver
that never implemented the verification).
"""

from __future__ import annotations

import json

from aiohttp import web

from notifiers.sandbox.faults import inject_faults
from notifiers.sandbox.recorder import RECORDER_KEY, Preview

PROVIDER = "webhook"


def receiver_error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


@inject_faults(PROVIDER, receiver_error)
async def receive(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    if name.startswith("gone-"):
        return receiver_error(410, "This hook was removed.")
    raw = await request.read()
    try:
        body = json.loads(raw)
    except ValueError:
        return receiver_error(400, "Expected a JSON body.")
    headers = {
        k: v
        for k, v in request.headers.items()
        if k.lower().startswith(("x-", "content-type", "user-agent"))
    }
    payload = {"body": body, "raw": raw.decode(), "headers": headers}
    request.app[RECORDER_KEY].add(PROVIDER, "webhook", name, payload, _preview(body))
    if name.startswith("mute-"):
        return web.json_response({"ok": True})
    if isinstance(body, dict) and "challenge" in body:
        return web.json_response({"challenge": body["challenge"]})
    return web.json_response({"ok": True})


def _preview(body) -> Preview:
    if not isinstance(body, dict):
        return Preview(title="(webhook)", body=str(body)[:300])
    if "incident" in body:
        incident = body["incident"]
        return Preview(
            title=incident.get("name", ""),
            body=(incident.get("incident_updates") or [{}])[0].get("body", ""),
        )
    if "text" in body:
        return Preview(title="Slack", body=body["text"])
    if "attachments" in body:
        blocks = body["attachments"][0]["content"]["body"]
        return Preview(title="Teams", body=" ".join(b.get("text", "") for b in blocks))
    return Preview(title="(webhook)", body=json.dumps(body)[:300])


def register(app: web.Application) -> None:
    app.router.add_post("/_sandbox/hooks/{name}", receive, name="sandbox_hooks")
