"""Push to the company's apps through Firebase Cloud Messaging (firebase-admin)."""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import firebase_admin
from django.conf import settings
from firebase_admin import credentials, exceptions, messaging

from incidents.messages import render_message
from incidents.models import Action
from notifiers.channels.context import subscriber_targets
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
    TransientError,
    register,
)
from statuspage import clock

SANDBOX_PROJECT_ID = "statuspage-sandbox"
TOPIC = re.compile(r"^[a-zA-Z0-9\-_.~%]+$")
URGENT_KINDS = frozenset({"opened", "relapsed"})
# FCM allows at most five topics in one condition.
TOPICS_PER_CONDITION = 5

# Errors that a retry cannot fix: the target is gone or the request itself is wrong.
PERMANENT_ERRORS = (
    messaging.UnregisteredError,
    messaging.SenderIdMismatchError,
    exceptions.InvalidArgumentError,
    exceptions.NotFoundError,
    exceptions.PermissionDeniedError,
)

_app_lock = threading.Lock()
_apps: dict[tuple, firebase_admin.App] = {}


def firebase_app() -> firebase_admin.App:
    """One firebase-admin App per configuration, pointed at the sandbox when SANDBOX_URL is set."""
    sandbox_url = settings.SANDBOX_URL
    config = settings.FIREBASE
    key = (sandbox_url, config["CREDENTIALS_FILE"], config["PROJECT_ID"])
    with _app_lock:
        if key not in _apps:
            _apps[key] = initialize_app(sandbox_url, config, name=f"statuspage-{len(_apps)}")
        return _apps[key]


def initialize_app(sandbox_url: str, config: Mapping[str, Any], name: str) -> firebase_admin.App:
    if sandbox_url:
        # Lazy: the sandbox is loaded only in sandbox mode, never in production.
        from notifiers.sandbox.firebase import point_messaging_at, write_service_account

        path = settings.VAR_DIR / "sandbox-firebase-service-account.json"
        write_service_account(path, sandbox_url, SANDBOX_PROJECT_ID)
        app = firebase_admin.initialize_app(
            credentials.Certificate(str(path)), {"projectId": SANDBOX_PROJECT_ID}, name=name
        )
        point_messaging_at(app, sandbox_url)
        return app
    if not config["CREDENTIALS_FILE"]:
        raise TransientError("push is not configured: set FIREBASE_CREDENTIALS_FILE")
    options = {"projectId": config["PROJECT_ID"]} if config["PROJECT_ID"] else {}
    return firebase_admin.initialize_app(
        credentials.Certificate(config["CREDENTIALS_FILE"]), options, name=name
    )


def forget_apps() -> None:
    """Drop cached apps (tests point the SDK at a fresh sandbox).

    Deleting an app closes its messaging service with asyncio.run(), which fails in a
    thread that already runs an event loop, so the deletion runs in a thread of its own.
    """
    with _app_lock:
        apps = list(_apps.values())
        _apps.clear()
    worker = threading.Thread(target=lambda: [firebase_admin.delete_app(a) for a in apps])
    worker.start()
    worker.join()


def component_topic(component) -> str:
    """The push topic of one component, e.g. ``component-3f2a9c1b7d40`` (its public id, the
    id the Statuspage API gives it): an app subscribes a device to it to hear about that
    component whichever app it is."""
    return f"{settings.FIREBASE['COMPONENT_TOPIC_PREFIX']}{component.public_id}"


def topic_conditions(topics: list[str]) -> list[str]:
    """Targets reaching every device subscribed to any of ``topics``: one FCM condition
    (``'a' in topics || 'b' in topics``) per five topics, so a device subscribed to
    several of them gets one message, not one per topic (a device whose topics fall in two
    conditions, past five components, gets two). A lone topic is sent to as a topic."""
    chunks = [
        topics[i : i + TOPICS_PER_CONDITION] for i in range(0, len(topics), TOPICS_PER_CONDITION)
    ]
    return [
        chunk[0] if len(chunk) == 1 else " || ".join(f"'{topic}' in topics" for topic in chunk)
        for chunk in chunks
    ]


def is_condition(target: str) -> bool:
    return " in topics" in target


@dataclass(frozen=True)
class PushMessage:
    title: str
    body: str
    data: dict[str, str]
    # Something broke (opened, relapsed): wake the device now. Good news can wait a little.
    urgent: bool = True


def classify(error: Exception) -> DeliveryError:
    if isinstance(error, messaging.UnregisteredError):
        return PermanentError(f"{type(error).__name__}: {error}", suppression="unregistered")
    if isinstance(error, PERMANENT_ERRORS):
        return PermanentError(f"{type(error).__name__}: {error}")
    return TransientError(f"{type(error).__name__}: {error}")


@register
class PushChannel(Channel):
    name = "push"
    label = "Push (Firebase Cloud Messaging)"
    provider = "fcm"
    priority = 1
    batch_size = 500  # FCM's send_each limit
    parts = (
        Part("title", Limit("PUSH_TITLE", 65, characters)),
        Part("body", Limit("PUSH_BODY", 240, characters)),
    )
    recipients = frozenset(
        {Recipients.APP_USERS, Recipients.COMPONENT_TOPICS, Recipients.SUBSCRIBERS}
    )
    # The apps hear at once, with the page; subscribed devices with the other subscribers.
    escalation = (
        Slot(Action.PUBLISH, 0, Recipients.APP_USERS),
        Slot(Action.PUBLISH, 10 * MINUTE, Recipients.SUBSCRIBERS),
    )
    sandbox = "fcm"

    def targets(self, announcement):
        """App users are reached through their app's topic, app installs following
        components through those components' topics, subscribed devices by their id."""
        if announcement.recipients == "app_users" and announcement.audience:
            return [announcement.audience.push_topic]
        if announcement.recipients == "component_topics":
            components = announcement.update.incident.components.order_by("public_id")
            return topic_conditions([component_topic(c) for c in components])
        if announcement.recipients == "subscribers":
            return subscriber_targets(announcement, self.name)
        return []

    def render(self, announcement) -> PushMessage:
        update = announcement.update
        incident = update.incident
        context = {
            "incident": incident,
            "update": update,
            "audience": announcement.audience,
            "components": list(incident.components.all()),
            "page_url": settings.STATUSPAGE["URL"],
        }
        return PushMessage(
            title=render_message("push", update.kind, context, "title"),
            body=render_message("push", update.kind, context, "body"),
            data={
                "type": "status_incident",
                "incident_id": incident.public_id,
                "update_id": update.public_id,
                "status": incident.status,
                "impact": incident.impact,
                "url": incident.message_link(announcement.audience),
            },
            urgent=update.kind in URGENT_KINDS,
        )

    def build(self, message: PushMessage, delivery) -> messaging.Message:
        """A topic message for an app's users, a device message (by FID) for a subscriber."""
        ttl = timedelta(seconds=settings.FIREBASE["PUSH_TTL_SECONDS"])
        if delivery.subscriber_id:
            target = {"fid": delivery.target}
        elif is_condition(delivery.target):
            target = {"condition": delivery.target}
        else:
            target = {"topic": delivery.target}
        return messaging.Message(
            **target,
            notification=messaging.Notification(title=message.title, body=message.body),
            data=message.data,
            android=messaging.AndroidConfig(
                priority="high" if message.urgent else "normal", ttl=ttl
            ),
            apns=messaging.APNSConfig(
                headers={
                    "apns-priority": "10" if message.urgent else "5",
                    "apns-push-type": "alert",
                    "apns-expiration": str(int(clock.now().timestamp()) + int(ttl.total_seconds())),
                },
            ),
        )

    def send_batch(self, message: PushMessage, deliveries) -> list[SendResult]:
        try:
            app = firebase_app()
        except DeliveryError as error:
            return [SendResult(d.id, error=error) for d in deliveries]
        valid = [
            d
            for d in deliveries
            if d.subscriber_id or is_condition(d.target) or TOPIC.match(d.target)
        ]
        results = [
            SendResult(d.id, error=PermanentError(f"'{d.target}' is not a valid FCM topic"))
            for d in deliveries
            if d not in valid
        ]
        if valid:
            response = messaging.send_each([self.build(message, d) for d in valid], app=app)
            results += [
                SendResult(d.id, provider_id=r.message_id or "")
                if r.success
                else SendResult(d.id, error=classify(r.exception))
                for d, r in zip(valid, response.responses, strict=True)
            ]
        return results
