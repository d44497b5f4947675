"""What the four social channels share: public posts to the accounts set up in the admin,
one delivery per account, each post within the network's length limit and always ending
with the incident's permalink."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar
from urllib.parse import urlsplit

import requests
from django.conf import settings

from incidents.messages import render_message
from incidents.models import Action
from notifiers.channels.context import message_context
from notifiers.models import SocialAccount
from notifiers.recipients import Recipients
from notifiers.registry import (
    MINUTE,
    Channel,
    DeliveryError,
    SendResult,
    Slot,
    Target,
    TransientError,
)

ELLIPSIS = "…"


@dataclass(frozen=True)
class Post:
    text: str
    link: str

    def within(self, limit: int) -> str:
        """The text ending with the link in ``limit`` characters: the text is cut, never the
        link. The wording was already fitted to the network's own measure when rendered
        (incidents.messages.fitted); this is the last guard for a network counting plainly."""
        text = self.text.removesuffix(self.link).rstrip()
        full = f"{text} {self.link}"
        if len(full) <= limit:
            return full
        room = limit - len(self.link) - len(ELLIPSIS) - 1
        return f"{text[:room].rstrip()}{ELLIPSIS} {self.link}"


class RoutedAdapter(requests.adapters.HTTPAdapter):
    """Sends whatever a requests-based SDK addresses to a fixed host (the sandbox) instead."""

    def __init__(self, base_url: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.base = urlsplit(base_url)

    def send(self, request, **kwargs):
        parts = urlsplit(request.url)
        request.url = parts._replace(scheme=self.base.scheme, netloc=self.base.netloc).geturl()
        return super().send(request, **kwargs)


class SocialChannel(Channel):
    """Targets are the enabled accounts of this network; the address is the account id.

    Each network declares its `parts` (a body, with the network's own length measure)."""

    recipients = frozenset({Recipients.PUBLIC})
    escalation = (Slot(Action.PUBLISH, 15 * MINUTE, Recipients.PUBLIC),)

    network: ClassVar[str]
    # Where a post is cut so the link always fits (Post.within); the body's Limit is the
    # network's own, checked when the wording is rendered.
    limit: ClassVar[int]
    priority = 4
    batch_size = 5

    def targets(self, announcement):
        if announcement.recipients != "public":
            return []
        accounts = SocialAccount.objects.filter(network=self.network, enabled=True).order_by("id")
        return [Target(f"{self.network}:{account.id}") for account in accounts]

    def render(self, announcement) -> Post:
        context = message_context(announcement)
        text = render_message(self.network, announcement.update.kind, context, "body")
        return Post(text=text, link=context["incident_url"])

    def send_batch(self, message: Post, deliveries) -> list[SendResult]:
        ids = {d.id: int(d.target.split(":", 1)[1]) for d in deliveries}
        accounts = SocialAccount.objects.in_bulk(set(ids.values()))
        results = []
        for delivery in deliveries:
            account = accounts.get(ids[delivery.id])
            if account is None or not account.enabled:
                results.append(
                    SendResult(delivery.id, error=TransientError("the account is gone or disabled"))
                )
                continue
            try:
                provider_id = self.post(account, message.within(self.limit), message, delivery)
            except DeliveryError as error:
                results.append(SendResult(delivery.id, error=error))
                continue
            results.append(SendResult(delivery.id, provider_id=provider_id))
        return results

    def post(self, account, text: str, message: Post, delivery) -> str:
        """Publish ``text``; return the network's id of the post or raise DeliveryError."""
        raise NotImplementedError


def sandbox_url() -> str:
    return settings.SANDBOX_URL.rstrip("/")
