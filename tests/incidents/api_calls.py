"""Calling the management API as a user in a role: `call(method, path, body)`."""

from __future__ import annotations

import json

from incidents.console.api_auth import issue_token


def caller(client, user):
    key = issue_token(user, f"{user.username}'s key")

    def call(method, path, body=None, **query):
        if query:
            return getattr(client, method)(
                f"/api/manage/v1/{path}", query, HTTP_AUTHORIZATION=f"OAuth {key}"
            )
        return getattr(client, method)(
            f"/api/manage/v1/{path}",
            data=json.dumps(body) if body is not None else None,
            content_type="application/json",
            HTTP_AUTHORIZATION=f"OAuth {key}",
        )

    return call
