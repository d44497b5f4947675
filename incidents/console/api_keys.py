"""Management API keys: list them (never a secret), create one (its key shown once), revoke.

A key made here acts as the user whose key made it, like `create_api_token`; revoking keeps
the row, so the list still says who had which key and when it was last used."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse

from incidents.console.api import (
    Invalid,
    body_of,
    handle,
    lacking,
    moment,
    not_allowed,
    reply,
    row_id,
)
from incidents.console.api import text as text_field
from incidents.console.api_auth import api_view, hash_key, issue_token
from incidents.models import ApiToken
from statuspage import clock


def key_payload(token: ApiToken) -> dict:
    def when(value):
        return value.isoformat() if value else None

    return {
        "id": str(token.id),
        "name": token.name,
        "user": token.user.get_username(),
        "state": token.state(clock.now()),
        "created_at": when(token.created_at),
        "last_used_at": when(token.last_used_at),
        "expires_at": when(token.expires_at),
        "revoked_at": when(token.revoked_at),
    }


def token_by(public_id: str) -> ApiToken:
    return ApiToken.objects.select_related("user").get(id=row_id(public_id, ApiToken))


@api_view("incidents.view_apitoken")
@handle
def api_keys(request: HttpRequest) -> JsonResponse:
    if request.method == "GET":
        tokens = ApiToken.objects.select_related("user").order_by("-created_at", "-id")
        return reply({"api_keys": [key_payload(t) for t in tokens]})
    if request.method != "POST":
        return not_allowed("GET, POST")
    if refused := lacking(request, "incidents.add_apitoken"):
        return refused
    data = body_of(request, "api_key")
    errors: dict[str, str] = {}
    name = text_field(data, "name", errors, required=True, limit=120)
    expires_at = moment(data, "expires_at", errors)
    if expires_at is not None and expires_at <= clock.now():
        errors["expires_at"] = "A time in the future (or leave it out: never expires)."
    if errors:
        raise Invalid(errors)
    assert name is not None  # required: text() reported it otherwise
    key = issue_token(request.user, name, expires_at=expires_at)
    token = ApiToken.objects.select_related("user").get(key_hash=hash_key(key))
    return reply({**key_payload(token), "key": key}, status=201)


@api_view("incidents.view_apitoken")
@handle
def api_key(request: HttpRequest, public_id: str) -> JsonResponse:
    if request.method != "GET":
        return not_allowed("GET")
    return reply(key_payload(token_by(public_id)))


@api_view("incidents.delete_apitoken")
@handle
def revoke(request: HttpRequest, public_id: str) -> JsonResponse:
    """The key stops working at once; its row stays, listed as revoked."""
    if request.method != "POST":
        return not_allowed("POST")
    token = token_by(public_id)
    if token.id == getattr(request, "api_token_id", None):
        why = "This is the key making the request: revoke it with another key or in the admin."
        raise Invalid({"id": why})
    token.revoke(clock.now())
    return reply(key_payload(token))
