"""Signed JSON POSTs to subscribers' endpoints, in Statuspage's payload shape, or in the
shapes Slack and Microsoft Teams incoming webhooks accept.

Every POST carries ``X-Statuspage-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of
"<t>.<body>">`` keyed with the subscriber's signing secret; receivers check the HMAC and
reject old timestamps, which stops forgeries and replays.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass

import requests
from django.conf import settings

from incidents.messages import render_message
from incidents.models import Action
from notifiers.channels.context import message_context, subscriber_targets, unsubscribe_url
from notifiers.destinations import BlockedDestination, guarded_session
from notifiers.recipients import Recipients
from notifiers.registry import (
    MINUTE,
    Channel,
    DeliveryError,
    Part,
    PermanentError,
    SendResult,
    Slot,
    TransientError,
    register,
)
from statuspage import clock
from statuspage.picture.serializers import incident_payload
from statuspage.picture.summary import build_snapshot

SIGNATURE_HEADER = "X-Statuspage-Signature"
TIMEOUT_S = 10
USER_AGENT = "statuspage-webhooks/1"
# Answers that say "try later" rather than "never".
RETRYABLE = {408, 409, 425, 429}


def sign(secret: str, body: bytes, timestamp: int) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify(secret: str, body: bytes, header: str, now: float, tolerance_s: int = 300) -> bool:
    """What a receiver does (and what our tests do): check the HMAC and the timestamp."""
    parts = dict(item.split("=", 1) for item in header.split(",") if "=" in item)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > tolerance_s:
        return False
    return hmac.compare_digest(sign(secret, body, timestamp), header)


@dataclass(frozen=True)
class WebhookMessage:
    statuspage: dict
    text: str
    title: str
    url: str


def slack_body(message: WebhookMessage) -> dict:
    return {
        "text": f"{message.title}: {message.text}",
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": message.title[:150]}},
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": f"{message.text}\n<{message.url}|Status page>"},
            },
        ],
    }


def teams_body(message: WebhookMessage) -> dict:
    card = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": [
            {
                "type": "TextBlock",
                "text": message.title,
                "weight": "Bolder",
                "size": "Medium",
                "wrap": True,
            },
            {"type": "TextBlock", "text": message.text, "wrap": True},
        ],
        "actions": [{"type": "Action.OpenUrl", "title": "Status page", "url": message.url}],
    }
    return {
        "type": "message",
        "attachments": [
            {"contentType": "application/vnd.microsoft.card.adaptive", "content": card}
        ],
    }


def classify(error: Exception | None, response: requests.Response | None) -> DeliveryError:
    if response is None:
        return TransientError(f"{type(error).__name__}: {error}")
    text = f"HTTP {response.status_code} from the endpoint"
    retry_after = response.headers.get("Retry-After")
    delay = float(retry_after) if retry_after and retry_after.isdigit() else None
    if response.status_code >= 500 or response.status_code in RETRYABLE:
        return TransientError(text, retry_after=delay)
    if response.status_code == 410:
        return PermanentError(text + " (gone)", suppression="unsubscribed")
    return PermanentError(text)


@register
class WebhookChannel(Channel):
    name = "webhook"
    label = "Webhook (signed JSON, Slack, Teams)"
    provider = "webhook"
    priority = 3
    batch_size = 20
    # The title is the push title's wording (render); only the text is the webhook's own.
    parts = (Part("text"),)
    recipients = frozenset({Recipients.SUBSCRIBERS})
    escalation = (Slot(Action.PUBLISH, 15 * MINUTE, Recipients.SUBSCRIBERS),)
    sandbox = "receiver"

    def targets(self, announcement):
        if announcement.recipients == "subscribers":
            return subscriber_targets(announcement, self.name)
        return []

    def render(self, announcement) -> WebhookMessage:
        context = message_context(announcement)
        kind = announcement.update.kind
        snapshot = build_snapshot()
        payload = {
            "meta": {
                "unsubscribe": "",
                "documentation": f"{settings.STATUSPAGE['URL']}/api/v2/summary.json",
            },
            "page": {
                "id": settings.STATUSPAGE["PAGE_ID"],
                "status_indicator": snapshot.overall.indicator,
                "status_description": snapshot.overall.description,
            },
            "incident": incident_payload(announcement.update.incident, context["components"]),
        }
        return WebhookMessage(
            statuspage=payload,
            text=render_message("webhook", kind, context, "text"),
            title=render_message("push", kind, context, "title"),
            url=context["incident_url"],
        )

    def body(self, message: WebhookMessage, delivery) -> bytes:
        subscriber = delivery.subscriber
        style = subscriber.webhook_format if subscriber else "statuspage"
        if style == "slack":
            data = slack_body(message)
        elif style == "teams":
            data = teams_body(message)
        else:
            meta = {**message.statuspage["meta"]}
            if subscriber:
                meta["unsubscribe"] = unsubscribe_url(subscriber.public_id)
            data = {**message.statuspage, "meta": meta}
        return json.dumps(data, ensure_ascii=False).encode()

    def send_batch(self, message: WebhookMessage, deliveries) -> list[SendResult]:
        with guarded_session() as session:
            return [self.send_one(session, message, d) for d in deliveries]

    def send_one(self, session: requests.Session, message: WebhookMessage, delivery) -> SendResult:
        body = self.body(message, delivery)
        headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT}
        secret = delivery.subscriber.signing_secret if delivery.subscriber else ""
        if secret:
            headers[SIGNATURE_HEADER] = sign(secret, body, int(clock.now().timestamp()))
        try:
            response = session.post(
                delivery.target,
                data=body,
                headers=headers,
                timeout=TIMEOUT_S,
                allow_redirects=False,
            )
        except BlockedDestination as error:
            return SendResult(delivery.id, error=PermanentError(str(error)))
        except requests.RequestException as error:
            return SendResult(delivery.id, error=classify(error, None))
        if 200 <= response.status_code < 300:
            return SendResult(
                delivery.id, provider_id=response.headers.get("X-Request-Id", "")[:200]
            )
        return SendResult(delivery.id, error=classify(None, response))


def component_update_payload(change, unsubscribe: str) -> dict:
    """Statuspage's component event: what changed, from what to what, and the component."""
    snapshot = build_snapshot()
    component = change.component
    return {
        "meta": {
            "unsubscribe": unsubscribe,
            "documentation": f"{settings.STATUSPAGE['URL']}/api/v2/summary.json",
        },
        "page": {
            "id": settings.STATUSPAGE["PAGE_ID"],
            "status_indicator": snapshot.overall.indicator,
            "status_description": snapshot.overall.description,
        },
        "component_update": {
            "created_at": change.changed_at.isoformat(),
            "new_status": change.new_status,
            "old_status": change.old_status,
            "id": str(change.id),
            "component_id": component.public_id,
        },
        "component": {
            "created_at": component.created_at.isoformat(),
            "id": component.public_id,
            "name": component.name,
            "status": change.new_status,
        },
    }


def post_signed(url: str, secret: str, data: dict) -> requests.Response:
    """POST `data` signed with `secret`; raises DeliveryError unless the endpoint took it."""
    body = json.dumps(data, ensure_ascii=False).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        SIGNATURE_HEADER: sign(secret, body, int(clock.now().timestamp())),
    }
    try:
        with guarded_session() as session:
            response = session.post(
                url, data=body, headers=headers, timeout=TIMEOUT_S, allow_redirects=False
            )
    except BlockedDestination as error:
        raise PermanentError(str(error)) from None
    except requests.RequestException as error:
        raise classify(error, None) from None
    if not 200 <= response.status_code < 300:
        raise classify(None, response)
    return response


def ping(subscriber) -> None:
    """The verification ping a new webhook must answer; raises DeliveryError unless it
    did (transient for what a retry can fix: 5xx, 429, timeouts)."""
    challenge = secrets.token_urlsafe(24)
    context = {"page_name": settings.STATUSPAGE["NAME"]}
    notice = WebhookMessage(
        statuspage={},
        title=render_message("webhook", "ping", context, "title"),
        text=render_message("webhook", "ping", context, "text"),
        url=settings.STATUSPAGE["URL"],
    )
    style = subscriber.webhook_format
    if style == "slack":
        data = slack_body(notice)
    elif style == "teams":
        data = teams_body(notice)
    else:
        data = {
            "type": "ping",
            "challenge": challenge,
            "page": {"id": settings.STATUSPAGE["PAGE_ID"]},
        }
    response = post_signed(subscriber.address, subscriber.signing_secret, data)
    if style in ("slack", "teams"):
        return
    try:
        echoed = response.json().get("challenge")
    except (ValueError, AttributeError):
        echoed = None
    if echoed != challenge:
        raise PermanentError(f"HTTP {response.status_code} without the challenge echoed")
