"""Firebase Cloud Messaging HTTP v1 and the Google OAuth2 token endpoint it needs.

Two sandbox providers live here, as the token endpoint only exists for FCM's sake:

- ``google_oauth``: ``POST /token``, where google-auth's service-account credentials trade a
  signed JWT (grant type jwt-bearer) for an access token. The signature is not verified:
  the sandbox cannot know the key, and only the request's shape matters here.
- ``fcm``: ``POST /v1/projects/{project}/messages:send``, which requires a bearer token this
  sandbox issued, validates the message and records it.

``DELETE /_sandbox/google/tokens`` forgets the issued tokens, as a restart would.

Topics behave as FCM's do: ``POST /v1/projects/{project}/registrations/{token}/
topicSubscriptions?topic_name=<topic>`` (and ``DELETE .../topicSubscriptions/<topic>``),
which firebase-admin's ``subscribe_to_topic`` calls, subscribe a device; a message to a
topic or to a condition (``'a' in topics || 'b' in topics``, with ``&&`` and parentheses,
read left to right as FCM documents it, at most five topics) is recorded once as sent, then
once per subscribed device it reaches (kind ``device``), so a device subscribed to several
topics of one condition gets one.

Errors use Google's shapes, which firebase-admin maps to its exception classes: OAuth
``{"error", "error_description"}`` for the token endpoint, and ``{"error": {"code",
"message", "status", "details": [FcmError]}}`` for FCM. A registration token (or FID)
starting with ``unregistered-`` answers 404 UNREGISTERED.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from notifiers.sandbox.faults import Handler, inject_faults
from notifiers.sandbox.recorder import RECORDER_KEY, Preview

PROVIDER = "fcm"
OAUTH_PROVIDER = "google_oauth"

TOKEN_PATH = "/token"
SEND_PATH = "/v1/projects/{project}/messages:send"
SUBSCRIPTIONS_PATH = "/v1/projects/{project}/registrations/{token}/topicSubscriptions"
TOKENS_CONTROL_PATH = "/_sandbox/google/tokens"

JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
TOKEN_LIFETIME_S = 3600
CLOCK_SKEW_S = 300
MESSAGING_SCOPES = frozenset(
    {
        "https://www.googleapis.com/auth/cloud-platform",
        "https://www.googleapis.com/auth/firebase.messaging",
    }
)
UNREGISTERED_PREFIX = "unregistered-"

FCM_ERROR_TYPE = "type.googleapis.com/google.firebase.fcm.v1.FcmError"
TARGET_FIELDS = ("token", "fid", "topic", "condition")
MESSAGE_FIELDS = frozenset(
    {"name", "data", "notification", "android", "webpush", "apns", "fcm_options", *TARGET_FIELDS}
)
BODY_FIELDS = frozenset({"message", "validate_only"})
TOPIC_NAME = re.compile(r"^[a-zA-Z0-9\-_.~%]{1,900}$")
MAX_CONDITION_TOPICS = 5
CONDITION_TOKEN = re.compile(r"\s*(?:(\|\||&&|\(|\))|'([a-zA-Z0-9\-_.~%]+)'\s+in\s+topics)")
INVALID_CONDITION = "Invalid condition expression provided."

RPC_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ABORTED",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    500: "INTERNAL",
    501: "UNIMPLEMENTED",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
FCM_ERROR_CODE = {
    400: "INVALID_ARGUMENT",
    401: "THIRD_PARTY_AUTH_ERROR",
    403: "SENDER_ID_MISMATCH",
    404: "UNREGISTERED",
    429: "QUOTA_EXCEEDED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}

MISSING_CREDENTIALS = (
    "Request is missing required authentication credential. Expected OAuth 2 access token, "
    "login cookie or other valid authentication credential."
)
INVALID_CREDENTIALS = (
    "Request had invalid authentication credentials. Expected OAuth 2 access token, "
    "login cookie or other valid authentication credential."
)


class RequestRejected(Exception):
    """Carries the error response a validation step decided on."""

    def __init__(self, response: web.Response) -> None:
        super().__init__(response.status)
        self.response = response


# Google OAuth2 token endpoint


@dataclass(frozen=True)
class Grant:
    client_email: str
    scopes: frozenset[str]
    expires_at: float


class TokenStore:
    """Access tokens issued by one sandbox app. Only touched from its event loop."""

    def __init__(self) -> None:
        self._grants: dict[str, Grant] = {}

    def issue(self, client_email: str, scopes: frozenset[str]) -> str:
        token = f"ya29.sandbox-{secrets.token_urlsafe(24)}"
        self._grants[token] = Grant(client_email, scopes, time.time() + TOKEN_LIFETIME_S)
        return token

    def lookup(self, token: str) -> Grant | None:
        grant = self._grants.get(token)
        return grant if grant and grant.expires_at > time.time() else None

    def clear(self) -> None:
        """Forget every token, as a restarted sandbox would; clients must refresh."""
        self._grants.clear()


TOKENS_KEY = web.AppKey("google_oauth_tokens", TokenStore)


def oauth_error(status: int, error: str, description: str) -> web.Response:
    return web.json_response({"error": error, "error_description": description}, status=status)


def oauth_fault(status: int, message: str) -> web.Response:
    return oauth_error(status, "internal_failure" if status >= 500 else "invalid_request", message)


@inject_faults(OAUTH_PROVIDER, oauth_fault)
async def token(request: web.Request) -> web.Response:
    form = await request.post()
    try:
        assertion = _jwt_bearer_assertion(form.get("grant_type"), form.get("assertion"))
        claims = _assertion_claims(assertion)
    except RequestRejected as rejected:
        return rejected.response
    scopes = frozenset(str(claims["scope"]).split())
    access_token = request.app[TOKENS_KEY].issue(str(claims["iss"]), scopes)
    return web.json_response(
        {"access_token": access_token, "expires_in": TOKEN_LIFETIME_S, "token_type": "Bearer"}
    )


def _jwt_bearer_assertion(grant_type: object, assertion: object) -> str:
    if not grant_type:
        raise _bad_grant("invalid_request", "Required parameter is missing: grant_type")
    if grant_type != JWT_BEARER_GRANT:
        raise _bad_grant("unsupported_grant_type", f"Invalid grant_type: {grant_type}")
    if not isinstance(assertion, str) or not assertion:
        raise _bad_grant("invalid_request", "Required parameter is missing: assertion")
    return assertion


def _assertion_claims(assertion: str) -> dict[str, Any]:
    """The JWT's payload, decoded but deliberately not verified."""
    parts = assertion.split(".")
    if len(parts) != 3:
        raise _bad_grant("invalid_grant", "Invalid JWT: not a compact JWS (header.payload.sig).")
    header, claims = (_json_segment(part) for part in parts[:2])
    if "alg" not in header:
        raise _bad_grant("invalid_grant", "Invalid JWT: the header has no alg.")
    missing = [name for name in ("iss", "aud", "iat", "exp") if name not in claims]
    if missing:
        raise _bad_grant("invalid_grant", f"Invalid JWT: missing claims {', '.join(missing)}.")
    _check_lifetime(claims["iat"], claims["exp"])
    if not claims.get("scope"):
        raise _bad_grant("invalid_scope", "Invalid OAuth scope or ID token audience provided.")
    return claims


def _json_segment(segment: str) -> dict[str, Any]:
    try:
        decoded = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (binascii.Error, ValueError):
        decoded = None
    if not isinstance(decoded, dict):
        raise _bad_grant("invalid_grant", "Invalid JWT: a segment is not base64url JSON.")
    return decoded


def _check_lifetime(issued_at: Any, expires_at: Any) -> None:
    now = time.time()
    if not (
        isinstance(issued_at, (int, float))
        and isinstance(expires_at, (int, float))
        and issued_at - CLOCK_SKEW_S <= now < expires_at + CLOCK_SKEW_S
        and 0 < expires_at - issued_at <= TOKEN_LIFETIME_S
    ):
        raise _bad_grant(
            "invalid_grant",
            "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable "
            "timeframe. Check your iat and exp values in the JWT claim.",
        )


def _bad_grant(error: str, description: str) -> RequestRejected:
    return RequestRejected(oauth_error(400, error, description))


async def clear_tokens(request: web.Request) -> web.Response:
    request.app[TOKENS_KEY].clear()
    return web.json_response({"cleared": True})


async def clear_topics(request: web.Request) -> web.Response:
    request.app[TOPICS_KEY].clear()
    return web.json_response({"cleared": True})


# Topics: subscriptions and conditions


class TopicSubscriptions:
    """Which devices follow which topics. Only touched from the sandbox's event loop."""

    def __init__(self) -> None:
        self._topics: dict[str, set[str]] = {}

    def subscribe(self, device: str, topic: str) -> None:
        self._topics.setdefault(device, set()).add(topic)

    def unsubscribe(self, device: str, topic: str) -> None:
        self._topics.get(device, set()).discard(topic)

    def devices(self, matches: Condition) -> list[str]:
        return sorted(device for device, topics in self._topics.items() if matches(topics))

    def clear(self) -> None:
        self._topics.clear()


TOPICS_KEY = web.AppKey("fcm_topic_subscriptions", TopicSubscriptions)

Condition = Callable[[set[str]], bool]


def parse_condition(text: str) -> Condition:
    """A condition as FCM reads it: topic operands joined by && and ||, evaluated left to
    right after what is in parentheses, at most five topics. Raises ValueError when it is
    not one."""
    tokens, position = [], 0
    while position < len(text.rstrip()):
        match = CONDITION_TOKEN.match(text, position)
        if match is None:
            raise ValueError(INVALID_CONDITION)
        tokens.append(match.group(1) or ("topic", match.group(2)))
        position = match.end()
    if sum(isinstance(t, tuple) for t in tokens) > MAX_CONDITION_TOPICS:
        raise ValueError(f"{INVALID_CONDITION} At most {MAX_CONDITION_TOPICS} topics.")
    condition, rest = _expression(tokens)
    if rest:
        raise ValueError(INVALID_CONDITION)
    return condition


def _expression(tokens: list) -> tuple[Condition, list]:
    left, tokens = _operand(tokens)
    while tokens[:1] in (["&&"], ["||"]):
        right, rest = _operand(tokens[1:])
        if tokens[0] == "&&":
            left = (lambda a, b: lambda topics: a(topics) and b(topics))(left, right)
        else:
            left = (lambda a, b: lambda topics: a(topics) or b(topics))(left, right)
        tokens = rest
    return left, tokens


def _operand(tokens: list) -> tuple[Condition, list]:
    if not tokens:
        raise ValueError(INVALID_CONDITION)
    first = tokens[0]
    if isinstance(first, tuple):
        return (lambda topics, name=first[1]: name in topics), tokens[1:]
    if first == "(":
        inner, rest = _expression(tokens[1:])
        if rest[:1] != [")"]:
            raise ValueError(INVALID_CONDITION)
        return inner, rest[1:]
    raise ValueError(INVALID_CONDITION)


def _authorized(handler: Handler) -> Handler:
    """Answer 401/403 as FCM does unless the request carries a token this sandbox issued."""

    @functools.wraps(handler)
    async def guarded(request: web.Request) -> web.StreamResponse:
        try:
            _authorize(request)
        except RequestRejected as rejected:
            return rejected.response
        return await handler(request)

    return guarded


@_authorized
async def subscribe_device(request: web.Request) -> web.Response:
    topic = request.query.get("topic_name", "")
    if not TOPIC_NAME.match(topic):
        return fcm_error(400, "Invalid topic name.", "INVALID_ARGUMENT")
    request.app[TOPICS_KEY].subscribe(request.match_info["token"], topic)
    return web.json_response({})


@_authorized
async def unsubscribe_device(request: web.Request) -> web.Response:
    request.app[TOPICS_KEY].unsubscribe(request.match_info["token"], request.match_info["topic"])
    return web.json_response({})


# FCM HTTP v1 messages:send


def google_error(
    status: int, message: str, details: list[dict[str, Any]] | None = None
) -> web.Response:
    error: dict[str, Any] = {
        "code": status,
        "message": message,
        "status": RPC_STATUS.get(status, "UNKNOWN"),
    }
    if details:
        error["details"] = details
    response = web.json_response({"error": error}, status=status)
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="https://accounts.google.com/"'
    return response


def fcm_error(status: int, message: str, fcm_code: str | None = None) -> web.Response:
    code = fcm_code or FCM_ERROR_CODE.get(status, "UNSPECIFIED_ERROR")
    return google_error(status, message, [{"@type": FCM_ERROR_TYPE, "errorCode": code}])


@inject_faults(PROVIDER, fcm_error)
async def send(request: web.Request) -> web.Response:
    project = request.match_info["project"]
    try:
        _authorize(request)
        body = await _json_body(request)
        message = _valid_message(body)
    except RequestRejected as rejected:
        return rejected.response
    target_field, target = _target(message)
    if target_field in ("token", "fid") and target.startswith(UNREGISTERED_PREFIX):
        return fcm_error(404, "Requested entity was not found.", "UNREGISTERED")
    if body.get("validate_only"):
        return web.json_response({"name": f"projects/{project}/messages/fake_message_id"})
    recorder = request.app[RECORDER_KEY]
    preview = _preview(message)
    record = recorder.add(PROVIDER, "push", _display_target(target_field, target), body, preview)
    if target_field in ("topic", "condition"):
        matches = parse_condition(f"'{target}' in topics" if target_field == "topic" else target)
        for device in request.app[TOPICS_KEY].devices(matches):
            recorder.add(PROVIDER, "device", device, body, preview)
    return web.json_response({"name": f"projects/{project}/messages/{record['id']}"})


def _authorize(request: web.Request) -> None:
    scheme, _, credential = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not credential.strip():
        raise RequestRejected(google_error(401, MISSING_CREDENTIALS))
    grant = request.app[TOKENS_KEY].lookup(credential.strip())
    if grant is None:
        raise RequestRejected(google_error(401, INVALID_CREDENTIALS))
    if not grant.scopes & MESSAGING_SCOPES:
        raise RequestRejected(google_error(403, "Request had insufficient authentication scopes."))


async def _json_body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise RequestRejected(google_error(400, "Invalid JSON payload received."))
    return body


def _valid_message(body: dict[str, Any]) -> dict[str, Any]:
    _reject_unknown(body, BODY_FIELDS, "request")
    message = body.get("message")
    if not isinstance(message, dict):
        raise _invalid("Invalid value at 'message': a message is required.")
    _reject_unknown(message, MESSAGE_FIELDS, "message")
    _check_target(message)
    _check_string_map(message, "data")
    _check_string_map(message, "notification")
    return message


def _reject_unknown(given: dict[str, Any], allowed: frozenset[str], where: str) -> None:
    unknown = ", ".join(sorted(set(given) - allowed))
    _require(not unknown, f"Invalid JSON payload received. Unknown name at '{where}': {unknown}")


def _check_target(message: dict[str, Any]) -> None:
    targets = [name for name in TARGET_FIELDS if name in message]
    _require(len(targets) == 1, "Exactly one of token, fid, topic or condition must be specified.")
    value = message[targets[0]]
    _require(isinstance(value, str) and value != "", f"Invalid value at 'message.{targets[0]}'.")
    if targets[0] == "topic":
        _require(bool(TOPIC_NAME.match(value)), "Invalid topic name.")
    if targets[0] == "condition":
        try:
            parse_condition(value)
        except ValueError as error:
            raise _invalid(str(error)) from None


def _check_string_map(message: dict[str, Any], name: str) -> None:
    value = message.get(name, {})
    _require(isinstance(value, dict), f"Invalid value at 'message.{name}'")
    for key, item in value.items():
        _require(isinstance(item, str), f"Invalid value at 'message.{name}.{key}': not a string")


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise _invalid(message)


def _invalid(message: str) -> RequestRejected:
    return RequestRejected(fcm_error(400, message, "INVALID_ARGUMENT"))


def _target(message: dict[str, Any]) -> tuple[str, str]:
    name = next(name for name in TARGET_FIELDS if name in message)
    return name, message[name]


def _display_target(field: str, value: str) -> str:
    """Topics as FCM writes them (``/topics/<name>``); tokens, FIDs and conditions as given."""
    return f"/topics/{value}" if field == "topic" else value


def _preview(message: dict[str, Any]) -> Preview:
    notification = message.get("notification") or {}
    if notification:
        return Preview(title=notification.get("title", ""), body=notification.get("body", ""))
    data = message.get("data") or {}
    return Preview(title="(data message)", body=", ".join(f"{k}={v}" for k, v in data.items()))


def register(app: web.Application) -> None:
    app[TOKENS_KEY] = TokenStore()
    app[TOPICS_KEY] = TopicSubscriptions()
    app.router.add_post(TOKEN_PATH, token, name="google_oauth_token")
    app.router.add_post(SEND_PATH, send, name="fcm_send")
    app.router.add_post(
        SUBSCRIPTIONS_PATH,
        inject_faults(PROVIDER, fcm_error)(subscribe_device),
        name="fcm_subscribe",
    )
    app.router.add_delete(
        SUBSCRIPTIONS_PATH + "/{topic}",
        inject_faults(PROVIDER, fcm_error)(unsubscribe_device),
        name="fcm_unsubscribe",
    )
    app.router.add_delete("/_sandbox/fcm/topics", clear_topics, name="sandbox_fcm_topics")
    app.router.add_delete(TOKENS_CONTROL_PATH, clear_tokens, name="sandbox_google_tokens")
