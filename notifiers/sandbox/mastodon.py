"""Mastodon's ``POST /api/v1/statuses``, for Mastodon.py.

Needs a bearer token; honours ``Idempotency-Key`` as Mastodon does (a repeated key
returns the first status instead of posting twice; remembered as long as the recording).
Errors are ``{"error": "..."}``.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from aiohttp import web

from notifiers.sandbox.faults import inject_faults
from notifiers.sandbox.recorder import RECORDER_KEY, Preview
from notifiers.sandbox.social_common import bearer, params

PROVIDER = "mastodon"
MAX_CHARACTERS = 500


def mastodon_error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


@inject_faults(PROVIDER, mastodon_error)
async def post_status(request: web.Request) -> web.Response:
    if not bearer(request):
        return mastodon_error(401, "The access token is invalid")
    data = await params(request)
    text = str(data.get("status", ""))
    if not text.strip():
        return mastodon_error(422, "Validation failed: Text can't be blank")
    if len(text) > MAX_CHARACTERS:
        return mastodon_error(422, "Validation failed: Text character limit of 500 exceeded")
    key = request.headers.get("Idempotency-Key")
    recorder = request.app[RECORDER_KEY]
    earlier = [
        r
        for r in recorder.list(provider=PROVIDER)
        if key and r["payload"]["idempotency_key"] == key
    ]
    if earlier:
        return web.json_response(earlier[0]["payload"]["response"])
    status = _status(request, text, data)
    payload = {**data, "status": text, "idempotency_key": key, "response": status}
    recorder.add(PROVIDER, "post", "mastodon", payload, Preview(title="Mastodon post", body=text))
    return web.json_response(status)


def _status(request: web.Request, text: str, data: dict) -> dict:
    status_id = str(secrets.randbelow(10**17))
    base = f"{request.scheme}://{request.host}"
    return {
        "id": status_id,
        "uri": f"{base}/users/status/statuses/{status_id}",
        "url": f"{base}/@status/{status_id}",
        "created_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "content": f"<p>{text}</p>",
        "visibility": data.get("visibility") or "public",
        "language": data.get("language"),
        "sensitive": False,
        "spoiler_text": "",
        "media_attachments": [],
        "mentions": [],
        "tags": [],
        "emojis": [],
        "reblogs_count": 0,
        "favourites_count": 0,
        "replies_count": 0,
        "account": {"id": "1", "username": "status", "acct": "status", "display_name": "Status"},
    }


def register(app: web.Application) -> None:
    app.router.add_post("/api/v1/statuses", post_status, name="mastodon_statuses")
