"""X API v2 ``POST /2/tweets``, for tweepy (OAuth 1.0a user context).

The OAuth signature is not verified (the sandbox cannot know the secrets), only that the
request carries one. Errors use X's problem shape ``{"title", "detail", "type",
"status"}``; duplicate text within the sandbox's memory answers 403 as X does.
"""

from __future__ import annotations

import secrets

from aiohttp import web

from notifiers.sandbox.faults import inject_faults
from notifiers.sandbox.recorder import RECORDER_KEY, Preview

PROVIDER = "x"
MAX_CHARACTERS = 280


def x_error(status: int, message: str) -> web.Response:
    titles = {401: "Unauthorized", 403: "Forbidden", 429: "Too Many Requests"}
    return web.json_response(
        {
            "title": titles.get(status, "Error"),
            "detail": message,
            "type": "about:blank",
            "status": status,
        },
        status=status,
    )


@inject_faults(PROVIDER, x_error)
async def create_tweet(request: web.Request) -> web.Response:
    if not request.headers.get("Authorization", "").startswith("OAuth "):
        return x_error(401, "Unauthorized")
    data = await request.json()
    text = str(data.get("text", ""))
    if not text or len(text) > MAX_CHARACTERS:
        return x_error(400, "Your Tweet text is empty or too long.")
    if any(
        r["payload"].get("text") == text for r in request.app[RECORDER_KEY].list(provider=PROVIDER)
    ):
        return x_error(403, "You are not allowed to create a Tweet with duplicate content.")
    tweet_id = str(secrets.randbelow(10**18))
    request.app[RECORDER_KEY].add(PROVIDER, "post", "x", data, Preview(title="X post", body=text))
    return web.json_response(
        {"data": {"id": tweet_id, "text": text, "edit_history_tweet_ids": [tweet_id]}}, status=201
    )


def register(app: web.Application) -> None:
    app.router.add_post("/2/tweets", create_tweet, name="x_tweets")
