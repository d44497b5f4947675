"""Bluesky (AT Protocol) ``createSession`` and ``createRecord`` XRPC calls, for atproto.

A session's access JWT is unsigned-but-well-formed (the SDK reads its ``exp``); posts
are validated like the PDS does for ``app.bsky.feed.post`` (text up to 300 graphemes).
Errors are XRPC's ``{"error", "message"}``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time

from aiohttp import web

from notifiers.sandbox.faults import inject_faults
from notifiers.sandbox.recorder import RECORDER_KEY, Preview
from notifiers.sandbox.social_common import bearer

PROVIDER = "bluesky"
MAX_GRAPHEMES = 300
SESSIONS_KEY = web.AppKey("bluesky_sessions", dict)


def xrpc_error(status: int, message: str, error: str | None = None) -> web.Response:
    name = error or {401: "AuthenticationRequired", 429: "RateLimitExceeded"}.get(
        status, "InternalServerError" if status >= 500 else "InvalidRequest"
    )
    return web.json_response({"error": name, "message": message}, status=status)


def _jwt(claims: dict) -> str:
    def part(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'ES256K', 'typ': 'at+jwt'})}.{part(claims)}.{secrets.token_urlsafe(32)}"


def _did(handle: str) -> str:
    return "did:plc:" + hashlib.sha256(handle.encode()).hexdigest()[:24]


@inject_faults(PROVIDER, xrpc_error)
async def create_session(request: web.Request) -> web.Response:
    data = await request.json()
    handle, password = str(data.get("identifier", "")), str(data.get("password", ""))
    if not handle or not password:
        return xrpc_error(401, "Invalid identifier or password", "AuthenticationRequired")
    did, now = _did(handle), int(time.time())
    access = _jwt({"scope": "com.atproto.appPass", "sub": did, "iat": now, "exp": now + 7200})
    refresh = _jwt({"scope": "com.atproto.refresh", "sub": did, "iat": now, "exp": now + 86400})
    request.app[SESSIONS_KEY][access] = (did, handle)
    return web.json_response(
        {"accessJwt": access, "refreshJwt": refresh, "handle": handle, "did": did, "active": True}
    )


@inject_faults(PROVIDER, xrpc_error)
async def create_record(request: web.Request) -> web.Response:
    session = request.app[SESSIONS_KEY].get(bearer(request))
    if session is None:
        return xrpc_error(401, "Token could not be verified", "InvalidToken")
    did, handle = session
    data = await request.json()
    record = data.get("record") or {}
    if data.get("collection") != "app.bsky.feed.post" or data.get("repo") not in (did, handle):
        return xrpc_error(400, "Invalid collection or repo")
    text = record.get("text", "")
    if not text or len(text) > MAX_GRAPHEMES:
        return xrpc_error(400, "Invalid app.bsky.feed.post record: text too long or empty")
    rkey = secrets.token_hex(7)
    request.app[RECORDER_KEY].add(
        PROVIDER, "post", handle, data, Preview(title="Bluesky post", body=text)
    )
    return web.json_response(
        {
            "uri": f"at://{did}/app.bsky.feed.post/{rkey}",
            "cid": "bafyrei" + secrets.token_hex(26)[:52],
            "validationStatus": "valid",
        }
    )


def register(app: web.Application) -> None:
    app[SESSIONS_KEY] = {}
    app.router.add_post(
        "/xrpc/com.atproto.server.createSession", create_session, name="bluesky_session"
    )
    app.router.add_post(
        "/xrpc/com.atproto.repo.createRecord", create_record, name="bluesky_create_record"
    )
