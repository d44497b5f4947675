"""Email through SendGrid's v3 Mail Send (the sendgrid SDK), up to 1000 recipients a request.

One request carries one rendered message and one personalization per recipient; each
personalization has the recipient's own unsubscribe links (substitutions and one-click
List-Unsubscribe headers) and custom args naming its delivery, so SendGrid's events map
back to our rows. A request is accepted or refused as a whole.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.error import URLError

from django.conf import settings
from django.template.loader import render_to_string
from python_http_client.exceptions import HTTPError
from sendgrid import SendGridAPIClient

from incidents.messages import render_message
from incidents.models import Action
from notifiers.channels.acks import ack_context, ack_incident, make_token, placeholder
from notifiers.channels.acks import link as ack_link
from notifiers.channels.context import link_maker, message_context, subscriber_targets
from notifiers.channels.oncall import oncall_targets
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

SANDBOX_API_KEY = "SG.sandbox-key"
UNSUBSCRIBE = "-unsubscribe_url-"
PREFERENCES = "-preferences_url-"


def sender() -> dict[str, str]:
    """Who every email of ours is from: EMAIL_FROM, named EMAIL_FROM_NAME or else the page."""
    return {
        "email": settings.SENDGRID["FROM_EMAIL"],
        "name": settings.SENDGRID["FROM_NAME"] or settings.STATUSPAGE["NAME"],
    }


@dataclass(frozen=True)
class EmailMessage:
    subject: str
    text: str
    html: str
    incident_id: str
    # An on-call page: each recipient's own acknowledge link is substituted for the
    # placeholder, as the unsubscribe links are.
    ack_incident: int | None = None


def sendgrid_client() -> SendGridAPIClient:
    if settings.SANDBOX_URL:
        return SendGridAPIClient(SANDBOX_API_KEY, host=settings.SANDBOX_URL.rstrip("/"))
    if not settings.SENDGRID["API_KEY"]:
        raise TransientError("SendGrid is not configured: set SENDGRID_API_KEY")
    return SendGridAPIClient(settings.SENDGRID["API_KEY"])


def retry_after(error: HTTPError) -> float | None:
    value = (getattr(error, "headers", None) or {}).get("Retry-After")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def classify(error: Exception) -> DeliveryError:
    if not isinstance(error, HTTPError):
        return TransientError(f"{type(error).__name__}: {error}")
    body = error.body.decode(errors="replace") if isinstance(error.body, bytes) else str(error.body)
    text = f"SendGrid {error.status_code}: {body[:300]}"
    if error.status_code == 429 or error.status_code >= 500 or error.status_code in (401, 403):
        return TransientError(text, retry_after=retry_after(error))
    return PermanentError(text)


@register
class EmailChannel(Channel):
    name = "email"
    label = "Email (SendGrid)"
    provider = "sendgrid"
    priority = 2
    batch_size = 1000  # SendGrid's personalizations limit
    parts = (Part("subject"), Part("text"), Part("html", preview=False))
    extra_kinds = ("postmortem",)
    recipients = frozenset({Recipients.SUBSCRIBERS, Recipients.ONCALL})
    escalation = (
        Slot(Action.PAGE, 0),
        Slot(Action.PUBLISH, 10 * MINUTE, Recipients.SUBSCRIBERS),
        Slot(Action.REMIND, 30 * MINUTE),
    )
    sandbox = "sendgrid"
    # Claiming, building and recording a 1000-recipient request cost about as much as
    # SendGrid takes to answer it: with three in flight the next request is already
    # queued when one is answered (docs/BENCHMARKS.md, session 4).
    concurrent_batches = 3

    def targets(self, announcement):
        if announcement.recipients == "subscribers":
            return subscriber_targets(announcement, self.name)
        if announcement.recipients == "oncall":
            return oncall_targets("email", announcement)
        return []

    def render(self, announcement) -> EmailMessage:
        context = {**message_context(announcement), **ack_context(announcement)}
        message = self.render_direct(announcement.update.kind, context)
        footer = render_to_string("notifiers/email_footer.txt", context).strip()
        return EmailMessage(
            message.subject,
            f"{message.text}\n\n{footer}",
            message.html,
            announcement.update.incident.public_id,
            ack_incident(announcement),
        )

    direct_field = "email"

    def render_direct(self, kind: str, context: dict) -> EmailMessage:
        text = render_message("email", kind, context, "text")
        subject = render_message("email", kind, context, "subject")
        html = render_to_string(
            "notifiers/email.html", {**context, "subject": subject, "body": text}
        )
        return EmailMessage(subject, text, html, "")

    def request_body(self, message: EmailMessage, deliveries) -> dict:
        links = link_maker()
        return {
            "from": sender(),
            "subject": message.subject,
            "content": [
                {"type": "text/plain", "value": message.text},
                {"type": "text/html", "value": message.html},
            ],
            "personalizations": [
                self.personalization(d, links, message.ack_incident) for d in deliveries
            ],
            "custom_args": {"incident": message.incident_id},
            "categories": ["status-update"],
        }

    def personalization(self, delivery, make_links, ack_incident_id: int | None = None) -> dict:
        subscriber = delivery.subscriber
        preferences, unsubscribe = make_links(subscriber.public_id) if subscriber else ("", "")
        links = {UNSUBSCRIBE: unsubscribe, PREFERENCES: preferences}
        if ack_incident_id is not None:
            token = make_token(ack_incident_id, delivery.id, clock.now())
            links[placeholder()] = ack_link(token)
        personalization = {
            "to": [{"email": delivery.target}],
            "substitutions": links,
            "custom_args": {"delivery_id": str(delivery.id)},
        }
        if subscriber:
            personalization["headers"] = {
                "List-Unsubscribe": f"<{links[UNSUBSCRIBE]}>",
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            }
        return personalization

    def send_batch(self, message: EmailMessage, deliveries) -> list[SendResult]:
        try:
            response = sendgrid_client().send(self.request_body(message, deliveries))
        except (HTTPError, URLError, OSError, DeliveryError) as error:
            failure = error if isinstance(error, DeliveryError) else classify(error)
            return [SendResult(d.id, error=failure) for d in deliveries]
        message_id = response.headers.get("X-Message-Id", "") if response.headers else ""
        return [SendResult(d.id, provider_id=message_id) for d in deliveries]
