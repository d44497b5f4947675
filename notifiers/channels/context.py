"""What every channel's templates can use, and who a subscriber announcement reaches."""

from __future__ import annotations

import base64
import functools
import hashlib
from collections.abc import Callable, Iterator

from django.conf import settings
from django.core import signing
from django.urls import reverse

from notifiers.models import Subscriber
from notifiers.registry import Target

MANAGE_SALT = "notifiers.manage"
CHUNK = 2000


def message_context(announcement) -> dict:
    update = announcement.update
    incident = update.incident
    components = incident.announced_components()
    return {
        "announcement": announcement,
        "incident": incident,
        "update": update,
        "audience": announcement.audience,
        "components": components,
        "component_names": ", ".join(c.name for c in components),
        "advice": next((c.advice for c in components if c.advice), ""),
        "page_name": settings.STATUSPAGE["NAME"],
        "page_url": settings.STATUSPAGE["URL"],
        "incident_url": incident.message_link(announcement.audience),
    }


def manage_token(subscriber_public_id) -> str:
    """The signed key of a subscriber's preferences and unsubscribe links (no login).

    Exactly `signing.Signer(salt=MANAGE_SALT).sign(id)` (no timestamp: the links never
    expire), with the derived key computed once: an email batch signs a thousand, and
    Signer derives its key on every call.
    """
    return token_signer(settings.SECRET_KEY)(subscriber_public_id)


@functools.lru_cache(maxsize=4)
def token_signer(secret: str) -> Callable[[object], str]:
    """manage_token for one secret key. Django's salted_hmac key derivation for
    Signer(salt=MANAGE_SALT) is done once, and so is the keyed half of HMAC-SHA256
    (RFC 2104): each token then costs two hash copies, a third of hmac.digest's time."""
    key = hashlib.sha256(f"{MANAGE_SALT}signer{secret}".encode()).digest().ljust(64, b"\0")
    inner = hashlib.sha256(bytes(byte ^ 0x36 for byte in key))
    outer = hashlib.sha256(bytes(byte ^ 0x5C for byte in key))

    def sign(subscriber_public_id) -> str:
        value = str(subscriber_public_id)
        digest = inner.copy()
        digest.update(value.encode())
        mac = outer.copy()
        mac.update(digest.digest())
        return f"{value}:{base64.urlsafe_b64encode(mac.digest()).rstrip(b'=').decode()}"

    return sign


def read_manage_token(token: str) -> str | None:
    """The subscriber's public id, or None if the token was tampered with. Tokens in
    emails sent before tokens became plain signatures (signing.dumps: payload, timestamp
    and signature) still work."""
    try:
        if token.count(":") == 2:
            return signing.loads(token, salt=MANAGE_SALT)
        return signing.Signer(salt=MANAGE_SALT).unsign(token)
    except signing.BadSignature:
        return None


def absolute(path: str) -> str:
    return f"{settings.STATUSPAGE['URL']}{path}"


PLACEHOLDER = "TOKEN"


def link_maker() -> Callable[[object], tuple[str, str]]:
    """A function giving (preferences URL, unsubscribe URL) for a subscriber, with the
    routes reversed once: an email batch needs a thousand of each."""
    preferences = absolute(reverse("notifiers:preferences", args=[PLACEHOLDER]))
    unsubscribe = absolute(reverse("notifiers:unsubscribe", args=[PLACEHOLDER]))
    sign = token_signer(settings.SECRET_KEY)

    def links(subscriber_public_id) -> tuple[str, str]:
        token = sign(subscriber_public_id)
        return preferences.replace(PLACEHOLDER, token), unsubscribe.replace(PLACEHOLDER, token)

    return links


def manage_links(subscriber_public_id) -> tuple[str, str]:
    return link_maker()(subscriber_public_id)


def preferences_url(subscriber_public_id) -> str:
    return manage_links(subscriber_public_id)[0]


def unsubscribe_url(subscriber_public_id) -> str:
    return manage_links(subscriber_public_id)[1]


class SubscriberTargets:
    """Active subscribers on a channel who follow any component of the incident.

    Iterating yields Targets read a chunk at a time by keyset (id order, from the
    announcement's fan-out cursor), each chunk a complete query: a million subscribers never
    sit in memory, a resumed fan-out skips ahead, and no read stays open while fan-out
    writes (on SQLite an open read pins an old snapshot, and its connection then cannot
    become a writer). Fan-out may instead take `id_chunks()` and write each chunk with one
    INSERT ... SELECT, never loading the rows into Python.
    """

    def __init__(self, announcement, channel: str) -> None:
        incident = announcement.update.incident
        component_ids = list(incident.components.values_list("id", flat=True))
        self.announcement = announcement
        self.subscribers = (
            Subscriber.objects.active()
            .filter(channel=channel)
            .following(component_ids)
            .hearing_about(incident)
            .order_by("id")
        )

    def id_chunks(self, size: int = CHUNK) -> Iterator[tuple[int, int]]:
        """(after, last) id bounds of each chunk of at most `size` subscribers."""
        after = self.announcement.fan_out_cursor
        ids = self.subscribers.values_list("id", flat=True)
        while chunk := list(ids.filter(id__gt=after)[:size]):
            yield after, chunk[-1]
            after = chunk[-1]

    def between(self, after: int, last: int):
        """The subscribers of the chunk (after, last]."""
        return self.subscribers.filter(id__gt=after, id__lte=last)

    def __iter__(self) -> Iterator[Target]:
        after = self.announcement.fan_out_cursor
        rows = self.subscribers.values_list("id", "address")
        while chunk := list(rows.filter(id__gt=after)[:CHUNK]):
            for subscriber_id, address in chunk:
                yield Target(address, subscriber_id)
            after = chunk[-1][0]


def subscriber_targets(announcement, channel: str) -> SubscriberTargets:
    return SubscriberTargets(announcement, channel)
