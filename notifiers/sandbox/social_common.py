"""Small helpers the social-network sandboxes share."""

from __future__ import annotations

from aiohttp import web


async def params(request: web.Request) -> dict:
    """A request's parameters, from a JSON body or a form body."""
    if request.content_type == "application/json":
        data = await request.json()
        return data if isinstance(data, dict) else {}
    return dict(await request.post())


def bearer(request: web.Request) -> str:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""
