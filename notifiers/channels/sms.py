"""Text messages through Twilio's Messaging Service (the twilio SDK).

One message per delivery (Twilio has no batch send). Each carries a short validity period,
so a text stuck in a queue is dropped rather than delivered hours late, and a status
callback URL naming its delivery. Sends are paced to the sender's throughput by giving
each delivery its own send slot at fan-out (see ProviderState.reserve_slots).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.urls import reverse
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from incidents.limits import MessageTooLong
from incidents.messages import render_message
from incidents.models import Action
from notifiers.channels.acks import ack_context, ack_incident, fill
from notifiers.channels.context import absolute, message_context, subscriber_targets
from notifiers.channels.oncall import oncall_targets
from notifiers.lengths import gsm7_fold, sms_segments
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
    TransientError,
    register,
)

SANDBOX_MESSAGING_SERVICE = "MG" + "5a" * 16
# Twilio error codes that say the number itself will never take our texts.
OPTED_OUT = {21610}
BAD_NUMBER = {21211, 21214, 21217, 21612, 21614, 21408}


class RoutedHttpClient(TwilioHttpClient):
    """The SDK's own HTTP client, optionally sent to another host (the sandbox), which
    also keeps the last response per thread so a 429's Retry-After can be honoured."""

    def __init__(self, base_url: str = "", **kwargs) -> None:
        super().__init__(**kwargs)
        self.base_url = base_url.rstrip("/")
        self.local = threading.local()

    def request(self, method: str, url: str, *args, **kwargs):
        if self.base_url:
            parts = urlsplit(url)
            url = self.base_url + parts.path + (f"?{parts.query}" if parts.query else "")
        response = super().request(method, url, *args, **kwargs)
        self.local.headers = response.headers
        return response

    def retry_after(self) -> float | None:
        value = (getattr(self.local, "headers", None) or {}).get("Retry-After")
        try:
            return float(value) if value is not None else None
        except ValueError:
            return None


def twilio_config() -> dict:
    """Settings, or the sandbox's test account when SANDBOX_URL is set."""
    config = dict(settings.TWILIO)
    if settings.SANDBOX_URL:
        # Lazy: the sandbox is loaded only in sandbox mode, never in production.
        from notifiers.sandbox import twilio as sandbox

        config.update(
            ACCOUNT_SID=sandbox.ACCOUNT_SID,
            AUTH_TOKEN=sandbox.AUTH_TOKEN,
            MESSAGING_SERVICE_SID=config["MESSAGING_SERVICE_SID"] or SANDBOX_MESSAGING_SERVICE,
        )
    return config


_clients = threading.local()


def twilio_client() -> tuple[Client, RoutedHttpClient]:
    """A client per thread and configuration, so its connections are reused across batches."""
    config = twilio_config()
    if not config["ACCOUNT_SID"] or not config["AUTH_TOKEN"]:
        raise TransientError(
            "Twilio is not configured: set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN"
        )
    key = (config["ACCOUNT_SID"], config["AUTH_TOKEN"], settings.SANDBOX_URL)
    cached = getattr(_clients, "by_key", {})
    if key not in cached:
        http = RoutedHttpClient(settings.SANDBOX_URL, timeout=15)
        cached = {
            key: (Client(config["ACCOUNT_SID"], config["AUTH_TOKEN"], http_client=http), http)
        }
        _clients.by_key = cached
    return cached[key]


def classify(error: Exception, http: RoutedHttpClient) -> DeliveryError:
    if not isinstance(error, TwilioRestException):
        return TransientError(f"{type(error).__name__}: {error}")
    text = f"Twilio {error.status} error {error.code}: {error.msg}"
    if error.code in OPTED_OUT:
        return PermanentError(text, suppression="stop")
    if error.code in BAD_NUMBER:
        return PermanentError(text, suppression="invalid")
    if error.status == 429 or error.status >= 500 or error.status in (401, 403):
        return TransientError(text, retry_after=http.retry_after())
    return PermanentError(text)


def status_callback_base() -> str:
    return absolute(reverse("notifiers:twilio-status")) + "?delivery="


@dataclass(frozen=True)
class TextMessage:
    body: str
    # An on-call page: each delivery's own acknowledge link replaces the placeholder.
    ack_incident: int | None = None


@register
class SmsChannel(Channel):
    name = "sms"
    label = "SMS (Twilio)"
    provider = "twilio"
    priority = 2
    batch_size = 50
    parts = (Part("body", Limit("SMS_MAX_SEGMENTS", 3, sms_segments), fold=gsm7_fold),)
    recipients = frozenset({Recipients.SUBSCRIBERS, Recipients.ONCALL})
    escalation = (
        Slot(Action.PAGE, 0),
        Slot(Action.PUBLISH, 10 * MINUTE, Recipients.SUBSCRIBERS),
        Slot(Action.REMIND, 30 * MINUTE),
    )
    sandbox = "twilio"
    # Twilio's SDK spends much of a send waiting on the network: three requests in flight
    # keep it busy while this task claims and records (measured: 66% -> 75% of the SDK alone).
    concurrent_batches = 3

    def rate(self) -> float:
        return float(settings.TWILIO["SMS_PER_SECOND"])

    def carries(self, announcement) -> bool:
        return announcement.update.kind in settings.TWILIO["SMS_KINDS"]

    def targets(self, announcement):
        if announcement.recipients == "subscribers" and self.carries(announcement):
            return subscriber_targets(announcement, self.name)
        if announcement.recipients == "oncall":
            return oncall_targets("phone", announcement)
        return []

    def render(self, announcement) -> TextMessage:
        """A page offers its acknowledge link when it fits; else only "reply ACK <code>"
        (a text in UCS-2 holds 201 characters in three segments), never a failed page."""
        context = {**message_context(announcement), **ack_context(announcement)}
        kind = announcement.update.kind
        try:
            return TextMessage(self.render_direct(kind, context).body, ack_incident(announcement))
        except MessageTooLong:
            if "ack_url" not in context:
                raise
        return self.render_direct(kind, {**context, "ack_url": ""})

    direct_field = "phone"

    def render_direct(self, kind: str, context: dict) -> TextMessage:
        return TextMessage(render_message("sms", kind, context, "body"))

    def send_batch(self, message: TextMessage, deliveries) -> list[SendResult]:
        try:
            client, http = twilio_client()
        except DeliveryError as error:
            return [SendResult(d.id, error=error) for d in deliveries]
        config = {**twilio_config(), "callback": status_callback_base()}
        return [self.send_one(client, http, config, message, d) for d in deliveries]

    def send_one(
        self, client: Client, http, config: dict, message: TextMessage, delivery
    ) -> SendResult:
        try:
            sent = client.messages.create(
                to=delivery.target,
                body=fill(message.body, message.ack_incident, delivery.id),
                messaging_service_sid=config["MESSAGING_SERVICE_SID"],
                validity_period=config["SMS_VALIDITY_SECONDS"],
                status_callback=f"{config['callback']}{delivery.id}",
            )
        except (TwilioException, requests.RequestException) as error:
            return SendResult(delivery.id, error=classify(error, http))
        delivery.segments = int(sent.num_segments or 1)
        return SendResult(delivery.id, provider_id=sent.sid)
