"""Facebook Graph API ``POST /{version}/{page_id}/feed`` (a Page post with a link).

Needs an ``access_token``; errors use Graph's ``{"error": {"message", "type", "code",
"fbtrace_id"}}`` shape (code 190: invalid token, 4/32: rate limited).
"""

from __future__ import annotations

import secrets

from aiohttp import web

from notifiers.sandbox.faults import inject_faults
from notifiers.sandbox.recorder import RECORDER_KEY, Preview
from notifiers.sandbox.social_common import params

PROVIDER = "facebook"


def graph_error(status: int, message: str, code: int | None = None) -> web.Response:
    code = code or {400: 100, 401: 190, 403: 10, 429: 32}.get(status, 2)
    kind = "OAuthException" if code in (190, 10) else "GraphMethodException"
    return web.json_response(
        {
            "error": {
                "message": message,
                "type": kind,
                "code": code,
                "fbtrace_id": secrets.token_hex(8),
            }
        },
        status=status,
    )


@inject_faults(PROVIDER, graph_error)
async def page_feed(request: web.Request) -> web.Response:
    data = await params(request)
    if not data.get("access_token"):
        return graph_error(400, "An active access token must be used to query information.", 190)
    if not data.get("message") and not data.get("link"):
        return graph_error(400, "(#100) The parameter message or link is required.", 100)
    page_id = request.match_info["page_id"]
    post_id = f"{page_id}_{secrets.randbelow(10**15)}"
    public = {k: v for k, v in data.items() if k != "access_token"}
    request.app[RECORDER_KEY].add(
        PROVIDER,
        "post",
        page_id,
        public,
        Preview(title="Facebook Page post", body=str(data.get("message", ""))),
    )
    return web.json_response({"id": post_id})


def register(app: web.Application) -> None:
    app.router.add_post(r"/{version:v\d+\.\d+}/{page_id}/feed", page_feed, name="facebook_feed")
