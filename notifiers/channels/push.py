"""Push to the company's apps through Firebase Cloud Messaging (firebase-admin)."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from datetime import timedelta

import firebase_admin
from django.conf import settings
from firebase_admin import credentials, exceptions, messaging

from incidents.messages import render_message
from notifiers.channels import register
from notifiers.channels.base import (
    Channel,
    DeliveryError,
    PermanentError,
    SendResult,
    TransientError,
)

SANDBOX_PROJECT_ID = "statuspage-sandbox"
TOPIC = re.compile(r"^[a-zA-Z0-9\-_.~%]+$")

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


def initialize_app(sandbox_url: str, config: dict, name: str) -> firebase_admin.App:
    if sandbox_url:
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


@dataclass(frozen=True)
class PushMessage:
    title: str
    body: str
    data: dict[str, str]


def classify(error: Exception) -> DeliveryError:
    if isinstance(error, PERMANENT_ERRORS):
        return PermanentError(f"{type(error).__name__}: {error}")
    return TransientError(f"{type(error).__name__}: {error}")


@register
class PushChannel(Channel):
    name = "push"
    label = "Push (Firebase Cloud Messaging)"
    batch_size = 500  # FCM's send_each limit

    def targets(self, announcement) -> list[str]:
        """App users are reached through their app's topic; other recipients need tokens."""
        if announcement.recipients == "app_users" and announcement.audience:
            return [announcement.audience.push_topic]
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
                "url": f"{settings.STATUSPAGE['URL']}/incidents/{incident.public_id}",
            },
        )

    def build(self, message: PushMessage, topic: str) -> messaging.Message:
        ttl = timedelta(seconds=settings.FIREBASE["PUSH_TTL_SECONDS"])
        return messaging.Message(
            topic=topic,
            notification=messaging.Notification(title=message.title, body=message.body),
            data=message.data,
            android=messaging.AndroidConfig(priority="high", ttl=ttl),
            apns=messaging.APNSConfig(
                headers={"apns-priority": "10", "apns-push-type": "alert"},
            ),
        )

    def send_batch(self, message: PushMessage, deliveries) -> list[SendResult]:
        try:
            app = firebase_app()
        except DeliveryError as error:
            return [SendResult(d.id, error=error) for d in deliveries]
        valid = [d for d in deliveries if TOPIC.match(d.target)]
        results = [
            SendResult(d.id, error=PermanentError(f"'{d.target}' is not a valid FCM topic"))
            for d in deliveries
            if d not in valid
        ]
        if valid:
            response = messaging.send_each([self.build(message, d.target) for d in valid], app=app)
            results += [
                SendResult(d.id, provider_id=r.message_id or "")
                if r.success
                else SendResult(d.id, error=classify(r.exception))
                for d, r in zip(valid, response.responses, strict=True)
            ]
        return results
