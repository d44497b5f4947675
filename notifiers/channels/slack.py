"""Public incident updates posted to one Slack channel through an incoming webhook.

The webhook is `settings.SLACK["WEBHOOK_URL"]` when the project sets SLACK, else the
environment's SLACK_WEBHOOK_URL, read here so that adding this channel touches no shared
file; unset, nothing is posted. It is one URL and one JSON POST (requests): a header block
with the title, a section with the text in Slack's mrkdwn, and the title again as the
notification's text. The URL's last segment is its secret, so the outbox names the hook by
its workspace and hook ids only. In sandbox mode the same path is posted to the sandbox.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
from django.conf import settings

from incidents.messages import render_message
from incidents.models import Action
from notifiers.channels.context import message_context
from notifiers.lengths import characters
from notifiers.recipients import Recipients
from notifiers.registry import (
    MINUTE,
    Channel,
    DeliveryError,
    Limit,
    Part,
    PermanentError,
    SendResult,
    Slot,
    Target,
    TransientError,
    register,
)

TIMEOUT_S = 10
# Answers a new configuration can fix (a revoked or mistyped hook), or a retry can.
RETRYABLE = {403, 404, 408, 429}


@dataclass(frozen=True)
class SlackMessage:
    title: str
    text: str


def configured_url() -> str:
    slack = getattr(settings, "SLACK", None) or {}
    return str(slack.get("WEBHOOK_URL", os.environ.get("SLACK_WEBHOOK_URL", "")))


def webhook_url() -> str:
    """The configured hook, or in sandbox mode the sandbox's route of the same path."""
    url = configured_url()
    if url and settings.SANDBOX_URL:
        return settings.SANDBOX_URL.rstrip("/") + urlsplit(url).path
    return url


def hook_name(url: str) -> str:
    """`T.../B...` of /services/T.../B.../<secret>: which hook, without its secret."""
    return "/".join(urlsplit(url).path.split("/")[2:4])


def mrkdwn(text: str) -> str:
    """Text as Slack's mrkdwn reads it: only &, < and > are escaped (they make links)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def request_body(message: SlackMessage) -> dict:
    return {
        "text": message.title,
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": message.title}},
            {"type": "section", "text": {"type": "mrkdwn", "text": mrkdwn(message.text)}},
        ],
    }


def classify(response: requests.Response) -> DeliveryError:
    text = f"Slack {response.status_code}: {response.text[:200]}"
    retry_after = response.headers.get("Retry-After")
    delay = float(retry_after) if retry_after and retry_after.isdigit() else None
    if response.status_code >= 500 or response.status_code in RETRYABLE:
        return TransientError(text, retry_after=delay)
    return PermanentError(text)


@register
class SlackChannel(Channel):
    name = "slack"
    label = "Slack (incoming webhook)"
    provider = "slack"
    priority = 4
    batch_size = 1
    parts = (
        Part("title", Limit("SLACK_TITLE", 150, characters)),
        Part("text", Limit("SLACK_TEXT", 3000, characters)),
    )
    recipients = frozenset({Recipients.PUBLIC})
    escalation = (Slot(Action.PUBLISH, 15 * MINUTE, Recipients.PUBLIC),)
    sandbox = "slack"

    def targets(self, announcement):
        url = configured_url()
        if announcement.recipients == Recipients.PUBLIC and url:
            return [Target(hook_name(url))]
        return []

    def render(self, announcement) -> SlackMessage:
        context = message_context(announcement)
        kind = announcement.update.kind
        return SlackMessage(
            title=render_message("slack", kind, context, "title"),
            text=render_message("slack", kind, context, "text"),
        )

    def send_batch(self, message: SlackMessage, deliveries) -> list[SendResult]:
        url = webhook_url()
        if not url:
            error = TransientError("Slack is not configured: set SLACK_WEBHOOK_URL")
            return [SendResult(d.id, error=error) for d in deliveries]
        return [self.post(url, message, d) for d in deliveries]

    def post(self, url: str, message: SlackMessage, delivery) -> SendResult:
        try:
            response = requests.post(
                url, json=request_body(message), timeout=TIMEOUT_S, allow_redirects=False
            )
        except requests.RequestException as error:
            return SendResult(delivery.id, error=TransientError(f"{type(error).__name__}: {error}"))
        if response.status_code != 200:
            return SendResult(delivery.id, error=classify(response))
        return SendResult(delivery.id)
