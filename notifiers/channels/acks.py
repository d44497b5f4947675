"""Acknowledge links and voice callbacks in on-call pages: signed, expiring, per delivery.

A token names the incident and the delivery that paged one contact (its target is the
contact's phone or email), with the time it was made, signed by django.core.signing under
its own salt. Expiry is judged against `statuspage.clock` (not the signer's wall clock), so
tests and the demo replay move it. Using a link once is enforced where it is spent
(`incidents.response.acks`), in the database.

A page is rendered once for all its deliveries, so it carries PLACEHOLDER, exactly as long
as the longest link: the rendered text is measured and fitted with it, and each delivery's
own (never longer) link replaces it as the message is sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core import signing
from django.urls import reverse

from incidents.models import IncidentUpdate
from notifiers.channels.context import absolute
from statuspage import clock

SALT = "notifiers.ack-link"
PAGE_KINDS = (IncidentUpdate.Kind.PAGING, IncidentUpdate.Kind.REMINDER)
# incident id, delivery id (each up to 12 digits), base-36 seconds: the longest value.
LONGEST_VALUE = "9" * 12 + "." + "9" * 12 + "." + "z" * 7
MARK = "~ACK~"


@dataclass(frozen=True)
class AckClaim:
    """What a valid token says: this delivery of this incident's page, made at `made_at`."""

    incident_id: int
    delivery_id: int
    made_at: datetime

    @property
    def key(self) -> str:
        """One per link: what the database remembers once the link is spent."""
        return f"{self.incident_id}.{self.delivery_id}"


class BadToken(Exception):
    """Why a token cannot be used: "tampered" or "expired"."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def make_token(incident_id: int, delivery_id: int, now: datetime) -> str:
    value = f"{incident_id}.{delivery_id}.{signing.b62_encode(int(now.timestamp()))}"
    return signing.Signer(salt=SALT).sign(value)


def read_token(token: str, now: datetime | None = None) -> AckClaim:
    """The claim of a genuine, unexpired token; BadToken saying which it is not."""
    try:
        value = signing.Signer(salt=SALT).unsign(token)
        incident, delivery, made = value.split(".")
        claim = AckClaim(
            int(incident),
            int(delivery),
            datetime.fromtimestamp(signing.b62_decode(made), tz=UTC),
        )
    except (signing.BadSignature, ValueError):
        raise BadToken("tampered") from None
    if (now or clock.now()) - claim.made_at > max_age():
        raise BadToken("expired")
    return claim


def max_age() -> timedelta:
    return timedelta(seconds=settings.ACK_LINK_MAX_AGE_SECONDS)


def link(token: str) -> str:
    return absolute(reverse("notifiers:ack-link", args=[token]))


def voice_callback(token: str) -> str:
    return absolute(reverse("notifiers:ack-voice", args=[token]))


def placeholder(make=link) -> str:
    """A stand-in as long as the longest real link (or callback URL) `make` gives."""
    longest = make(signing.Signer(salt=SALT).sign(LONGEST_VALUE))
    return MARK + "x" * (len(longest) - len(MARK))


def carries_ack(announcement) -> bool:
    return announcement.recipients == "oncall" and announcement.update.kind in PAGE_KINDS


def fill(text: str, incident_id: int | None, delivery_id: int, make=link) -> str:
    """The text with this delivery's link in place of the placeholder (none: unchanged)."""
    if incident_id is None or MARK not in text:
        return text
    return put_token(text, make_token(incident_id, delivery_id, clock.now()), make)


def ack_context(announcement, make=link) -> dict:
    """What a page's templates need to offer acknowledging: the link's placeholder and the
    incident's short code; nothing for any other message."""
    if not carries_ack(announcement):
        return {}
    return {"ack_url": placeholder(make), "ack_code": announcement.update.incident.short_code}


def ack_incident(announcement) -> int | None:
    return announcement.update.incident_id if carries_ack(announcement) else None


def put_token(text: str, token: str, make=link) -> str:
    return text.replace(placeholder(make), make(token))
