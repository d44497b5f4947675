"""Acknowledging from where the page arrived, without logging in: a text back ("ACK",
"ACK KQ47" or the code alone), a key pressed on the page call, a signed one-time link in
the page's email or text. Each goes through `workflow.acknowledge` (first one wins) and is
audited with its channel and the contact.

Who may: a phone the on-call roster lists now, or one an on-call page of the incident
reached (the outbox remembers every page). A bare "ACK" means the incident whose page
reached that phone most recently, unless another unacknowledged incident paged it too:
then the reply lists the codes, so an ACK never lands on the wrong incident. A link or a
call names its own incident and delivery (notifiers.channels.acks), so it needs no roster.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction

from incidents.models import OPEN_STATUSES, SHORT_CODE, AckVia, Incident, UsedAckLink
from incidents.response import workflow
from notifiers.channels.acks import AckClaim
from notifiers.channels.oncall import current_contacts
from notifiers.models import Delivery, Recipients

ACK_WORD = "ACK"
PAGED_BY = ("sms", "voice")
LINK_VIA = {"email": AckVia.EMAIL_LINK, "sms": AckVia.SMS_LINK, "voice": AckVia.VOICE}


@dataclass
class Answer:
    """What to tell the texter: a reply kind (templates/messages/sms/reply_ack_<kind>.txt)
    and the incident, or the incidents to choose from."""

    kind: str
    incident: Incident | None = None
    incidents: list[Incident] = field(default_factory=list)


def ack_words(body: str) -> tuple[bool, str] | None:
    """(True, code or "") when the text asks to acknowledge; None for any other text."""
    words = body.upper().split()
    if words and words[0] == ACK_WORD and len(words) <= 2:
        return True, words[1] if len(words) == 2 else ""
    if len(words) == 1 and re.match(SHORT_CODE, words[0]):
        return True, words[0]
    return None


def contact_named(field_name: str, address: str) -> str:
    """The roster's name for this phone or email, with the address; the address alone
    for someone paged earlier and no longer on the roster."""
    for contact in current_contacts():
        if address and getattr(contact, field_name, "") == address:
            return f"{contact.name} ({address})"
    return address


def on_the_roster(phone: str) -> bool:
    return any(phone and getattr(c, "phone", "") == phone for c in current_contacts())


def paged_incidents(phone: str) -> list[Incident]:
    """Unresolved incidents whose on-call page reached this phone, latest page first."""
    ids = (
        Delivery.objects.filter(
            target=phone,
            subscriber__isnull=True,
            channel__in=PAGED_BY,
            announcement__recipients=Recipients.ONCALL,
            announcement__update__incident__status__in=OPEN_STATUSES,
        )
        .order_by("-created_at", "-id")
        .values_list("announcement__update__incident_id", flat=True)
    )
    ordered = list(dict.fromkeys(ids))
    found = Incident.objects.in_bulk(ordered)
    return [found[i] for i in ordered]


def answer_text(phone: str, code: str, now: datetime) -> Answer:
    """Acknowledge what the text names, if this phone may; what to reply either way."""
    paged = paged_incidents(phone)
    if code:
        incident = Incident.objects.unresolved().filter(short_code=code).first()
        if incident is None:
            return Answer("none")
        if incident not in paged and not on_the_roster(phone):
            return Answer("refused")
        return acknowledge_by_text(incident, phone, now)
    if not paged and on_the_roster(phone):
        paged = list(Incident.objects.incidents().unresolved().order_by("-detected_at"))
    if not paged:
        return Answer("none" if on_the_roster(phone) else "refused")
    waiting = [incident for incident in paged if incident.acknowledged_at is None]
    if len(waiting) > 1:
        return Answer("ambiguous", incidents=waiting)
    return acknowledge_by_text(waiting[0] if waiting else paged[0], phone, now)


def acknowledge_by_text(incident: Incident, phone: str, now: datetime) -> Answer:
    won = workflow.acknowledge(incident, None, now, AckVia.SMS, contact_named("phone", phone))
    return Answer("done" if won else "already", incident)


@dataclass(frozen=True)
class Paged:
    """The delivery a token names: its incident and channel, the contact's address."""

    incident: Incident
    channel: str
    target: str

    @property
    def contact(self) -> str:
        return contact_named("email" if self.channel == "email" else "phone", self.target)


def paged_by(claim: AckClaim) -> Paged | None:
    """The on-call page a genuine token names; None if it no longer exists."""
    row = (
        Delivery.objects.filter(
            id=claim.delivery_id,
            announcement__update__incident_id=claim.incident_id,
            announcement__recipients=Recipients.ONCALL,
        )
        .values_list("channel", "target")
        .first()
    )
    incident = Incident.objects.filter(id=claim.incident_id).first() if row else None
    return Paged(incident, *row) if row and incident else None


def link_spent(claim: AckClaim) -> bool:
    return UsedAckLink.objects.filter(key=claim.key).exists()


def spend_link(claim: AckClaim, paged: Paged, now: datetime) -> bool | None:
    """Use the link once: True if it acknowledged, False if the incident already was,
    None if the link was used before (by anyone, in any process)."""
    try:
        with transaction.atomic():
            UsedAckLink.objects.create(key=claim.key, incident=paged.incident, used_at=now)
            return acknowledge_paged(paged, now)
    except IntegrityError:
        return None


def acknowledge_paged(paged: Paged, now: datetime) -> bool:
    """Acknowledge as the page's contact, from the page's channel (link or call)."""
    via = LINK_VIA.get(paged.channel, AckVia.SMS_LINK)
    return workflow.acknowledge(paged.incident, None, now, via, paged.contact)


def forget_spent_links(now: datetime) -> int:
    """Housekeeping job: a spent link's row is needed only while its signature is young
    enough to be accepted (ACK_LINK_MAX_AGE_SECONDS from when it was sent, which is before it
    was spent); older, the link is refused as expired whatever the table says."""
    cutoff = now - timedelta(seconds=settings.ACK_LINK_MAX_AGE_SECONDS)
    return UsedAckLink.objects.filter(used_at__lt=cutoff).delete()[0]
