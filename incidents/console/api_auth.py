"""Token authentication for the management API: `Authorization: OAuth <key>` (as
Statuspage's API takes it) or `Bearer <key>`. Only the key's SHA-256 is stored."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime
from functools import wraps

from django.http import JsonResponse

from incidents.models import ApiToken
from statuspage import clock


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def issue_token(user, name: str, expires_at: datetime | None = None) -> str:
    """Create a token and return its key; the key is not stored and cannot be shown again."""
    key = secrets.token_urlsafe(32)
    ApiToken.objects.create(user=user, name=name, key_hash=hash_key(key), expires_at=expires_at)
    return key


def error(status: int, message: str, fields: dict | None = None) -> JsonResponse:
    payload: dict[str, object] = {"error": message}
    if fields:
        payload["fields"] = fields
    return JsonResponse(payload, status=status)


def token_of(request) -> ApiToken | None:
    header = request.headers.get("Authorization", "")
    scheme, _, key = header.partition(" ")
    if scheme.lower() not in ("oauth", "bearer") or not key.strip():
        return None
    now = clock.now()
    token = (
        ApiToken.objects.usable(now)
        .select_related("user")
        .filter(key_hash=hash_key(key.strip()))
        .first()
    )
    if token is None or not token.user.is_active:
        return None
    ApiToken.objects.filter(id=token.id).update(last_used_at=now)
    return token


def api_view(*permissions: str):
    """Authenticate by token, check the user's permissions, answer errors as JSON."""

    def decorate(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            token = token_of(request)
            user = token.user if token else None
            if token is None or user is None:
                response = error(
                    401, "Missing or invalid API key: send 'Authorization: OAuth <key>'."
                )
                response["WWW-Authenticate"] = 'Bearer realm="manage"'
                return response
            missing = [p for p in permissions if not user.has_perm(p)]
            if missing:
                return error(403, f"This key's user lacks the permission(s): {', '.join(missing)}.")
            request.user = user
            request.api_token_id = token.id
            return view(request, *args, **kwargs)

        wrapped.csrf_exempt = True
        return wrapped

    return decorate
