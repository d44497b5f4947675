"""Subscribers through the management API: list (paginated, filtered), add one or import
many, unsubscribe (kept, never sent to again) or remove.

Addresses are checked by the public form's rules (notifiers.addresses: mobiles only for SMS,
public hosts only for webhooks). An added subscriber is sent the same confirmation as one
who subscribed on the page, unless it is imported `pre_confirmed`, which needs the consent
that stands in for the opt-in (who, what, when, where), recorded on the row. An import is
all or nothing: one wrong entry and nothing is added.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass

from django import forms
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.http import HttpRequest, JsonResponse

from incidents.console.api import (
    Invalid,
    choice,
    flag,
    handle,
    json_object,
    json_problem,
    lacking,
    moment,
    not_allowed,
    reply,
    text,
)
from incidents.console.api_auth import api_view
from notifiers.addresses import check_email, check_webhook_url, normalise_phone
from notifiers.delivery import confirmations
from notifiers.subscribers import Consent, Subscriber, Suppression, WebhookFormat
from statuspage import clock
from statuspage.inputs import text_problem
from statuspage.models import Component

CHECKS = {"email": check_email, "sms": normalise_phone, "webhook": check_webhook_url}
STATES = {"active", "pending", "suppressed"}
MAX_IMPORT = 500
MAX_PER_PAGE = 500


def state_of(subscriber: Subscriber) -> str:
    if subscriber.suppressed_at is not None:
        return "suppressed"
    return "active" if subscriber.confirmed_at is not None else "pending"


def subscriber_payload(subscriber: Subscriber) -> dict:
    def when(value):
        return value.isoformat() if value else None

    consent = None
    if subscriber.consent_at is not None:
        consent = {
            "by": subscriber.consent_by,
            "text": subscriber.consent_text,
            "at": when(subscriber.consent_at),
            "source": subscriber.consent_source,
            "imported_by": subscriber.imported_by,
        }
    return {
        "id": str(subscriber.public_id),
        "channel": subscriber.channel,
        "address": subscriber.address,
        "language": subscriber.locale,
        "state": state_of(subscriber),
        "suppression": subscriber.suppression or None,
        "all_components": subscriber.all_components,
        "component_ids": [c.public_id for c in subscriber.components.all()],
        "webhook_format": subscriber.webhook_format if subscriber.channel == "webhook" else None,
        "confirmed_at": when(subscriber.confirmed_at),
        "created_at": when(subscriber.created_at),
        "consent": consent,
    }


def listed(request: HttpRequest, errors: dict[str, str]) -> QuerySet[Subscriber]:
    query = request.GET
    channel = choice(dict(query.items()), "channel", set(CHECKS) | {"push"}, errors)
    state = choice(dict(query.items()), "state", STATES, errors)
    items = Subscriber.objects.order_by("id").prefetch_related("components")
    if channel:
        items = items.filter(channel=channel)
    if state == "active":
        items = items.active()
    elif state == "pending":
        items = items.filter(confirmed_at__isnull=True, suppressed_at__isnull=True)
    elif state == "suppressed":
        items = items.filter(suppressed_at__isnull=False)
    component_id = query.get("component")
    if component_id is not None:
        component = None
        if not text_problem(component_id):
            component = Component.objects.filter(public_id=component_id[:64]).first()
        if component is None:
            errors["component"] = "Unknown component id."
        else:
            items = items.following([component.id])
    return items


def page_numbers(request: HttpRequest, errors: dict[str, str]) -> tuple[int, int]:
    numbers = []
    for name, default, high in (("page", 1, 10**6), ("per_page", 100, MAX_PER_PAGE)):
        raw = request.GET.get(name, str(default))
        if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= high:
            errors[name] = f"A whole number from 1 to {high}."
            numbers.append(default)
        else:
            numbers.append(int(raw))
    return numbers[0], numbers[1]


@api_view("notifiers.view_subscriber")
@handle
def subscribers(request: HttpRequest) -> JsonResponse:
    if request.method == "POST":
        return add(request)
    if request.method != "GET":
        return not_allowed("GET, POST")
    errors: dict[str, str] = {}
    items = listed(request, errors)
    page, per_page = page_numbers(request, errors)
    if errors:
        raise Invalid(errors)
    total = items.count()
    chunk = items[(page - 1) * per_page : page * per_page]
    return reply(
        {
            "subscribers": [subscriber_payload(s) for s in chunk],
            "page": page,
            "per_page": per_page,
            "total": total,
            "next_page": page + 1 if page * per_page < total else None,
        }
    )


def entries_of(request: HttpRequest) -> list[dict]:
    data = json_object(request)
    if isinstance(data.get("subscriber"), dict):
        return [data["subscriber"]]
    entries = data.get("subscribers")
    if not isinstance(entries, list) or not entries or len(entries) > MAX_IMPORT:
        raise Invalid(
            {
                "subscribers": f"Send a 'subscriber' object, or 'subscribers': a list of 1 to "
                f"{MAX_IMPORT} of them."
            }
        )
    return entries


def add(request: HttpRequest) -> JsonResponse:
    if refused := lacking(request, "notifiers.add_subscriber"):
        return refused
    entries = entries_of(request)
    errors: dict[str, str] = {}
    checked = []
    seen: set[tuple[str, str]] = set()
    for index, entry in enumerate(entries):
        prefix = "subscriber." if len(entries) == 1 else f"subscribers[{index}]."
        wrong: dict[str, str] = {}
        new = checked_entry(entry, wrong)
        if new and (new.channel, new.address) in seen:
            wrong["address"] = "Given twice in this import."
        if new:
            seen.add((new.channel, new.address))
        errors.update({prefix + field: why for field, why in wrong.items()})
        checked.append(new)
    if errors:
        raise Invalid(errors)
    try:
        with transaction.atomic():
            created = [save(new, request.user.get_username()) for new in checked if new]
    except IntegrityError:  # the same address added by another request meanwhile
        raise Invalid({"subscribers": "Already a subscriber: added meanwhile."}) from None
    return reply({"subscribers": created}, status=201)


@dataclass(frozen=True)
class NewSubscriber:
    """One checked entry of an import, not yet saved."""

    channel: str
    address: str
    language: str
    components: list[Component]
    style: str
    consent: Consent | None


def checked_entry(entry: object, errors: dict[str, str]) -> NewSubscriber | None:
    if not isinstance(entry, dict):
        errors["body"] = "A subscriber object."
        return None
    channel = choice(entry, "channel", set(CHECKS), errors)
    if channel is None and "channel" not in errors:
        errors["channel"] = f"One of: {', '.join(sorted(CHECKS))}."
    address = checked_address(entry, channel, errors)
    languages = {code for code, _ in settings.LANGUAGES}
    language = choice(entry, "language", languages, errors) or settings.LANGUAGE_CODE
    style = choice(entry, "webhook_format", set(WebhookFormat.values), errors)
    components = components_of(entry, errors)
    consent = consent_of(entry, errors) if flag(entry, "pre_confirmed", errors, False) else None
    if errors or channel is None or address is None:
        return None
    return NewSubscriber(
        channel, address, language, components, style or WebhookFormat.STATUSPAGE, consent
    )


def checked_address(entry: dict, channel: str | None, errors: dict[str, str]) -> str | None:
    raw = text(entry, "address", errors, required=True, limit=500)
    if raw is None or channel is None:
        return None
    try:
        address = CHECKS[channel](raw)
    except forms.ValidationError as refused:
        errors["address"] = " ".join(str(m) for m in refused.messages)
        return None
    if Subscriber.objects.filter(channel=channel, address=address).exists():
        errors["address"] = "Already a subscriber: remove it first, or leave it out."
        return None
    return address


def components_of(entry: dict, errors: dict[str, str]) -> list[Component]:
    ids = entry.get("component_ids") or []
    if (
        not isinstance(ids, list)
        or not all(isinstance(i, str) and len(i) < 64 for i in ids)
        or json_problem(ids)
    ):
        errors["component_ids"] = "A list of component ids (empty: every component)."
        return []
    # Added here, a subscriber is the public's: it may follow only public components.
    found = list(Component.objects.visible_to(None).filter(public_id__in=ids))
    missing = sorted(set(ids) - {c.public_id for c in found})
    if missing:
        errors["component_ids"] = f"Unknown or private component id(s): {', '.join(missing)}."
    return found


def consent_of(entry: dict, errors: dict[str, str]) -> Consent | None:
    """Pre-confirmed needs every consent field: a subscriber nobody can show agreed is not
    imported."""
    raw = entry.get("consent")
    if not isinstance(raw, dict):
        errors["consent"] = "Pre-confirmed needs 'consent': {by, text, at, source}."
        return None
    wrong: dict[str, str] = {}
    by = text(raw, "by", wrong, required=True, limit=200)
    what = text(raw, "text", wrong, required=True)
    source = text(raw, "source", wrong, required=True, limit=200)
    at = moment(raw, "at", wrong)
    if at is None and "at" not in wrong:
        wrong["at"] = "This field is required."
    elif at is not None and at > clock.now():
        wrong["at"] = "Consent cannot be given in the future."
    errors.update({f"consent.{field}": why for field, why in wrong.items()})
    if wrong:
        return None
    assert by is not None and what is not None and source is not None and at is not None
    return Consent(by=by, text=what, at=at, source=source)


def save(new: NewSubscriber, imported_by: str) -> dict:
    now = clock.now()
    subscriber = Subscriber(
        channel=new.channel,
        address=new.address,
        locale=new.language,
        all_components=not new.components,
        webhook_format=new.style,
        created_at=now,
        updated_at=now,
    )
    if new.channel == "webhook":
        subscriber.signing_secret = secrets.token_hex(32)
    if new.consent is not None:
        subscriber.confirm_with_consent(new.consent, imported_by, now)
    subscriber.save()
    subscriber.components.set(new.components)
    if new.consent is None:
        confirmations.request(subscriber, [c.id for c in new.components], new.language, now)
    payload = subscriber_payload(subscriber)
    if subscriber.signing_secret:
        payload["signing_secret"] = subscriber.signing_secret  # shown this once
    return payload


@api_view("notifiers.view_subscriber")
@handle
def subscriber(request: HttpRequest, public_id: str) -> JsonResponse:
    """GET one; DELETE removes the row (its deliveries keep their history, unnamed)."""
    item = Subscriber.objects.prefetch_related("components").get(public_id=uuid_or_none(public_id))
    if request.method == "GET":
        return reply(subscriber_payload(item))
    if request.method != "DELETE":
        return not_allowed("GET, DELETE")
    if refused := lacking(request, "notifiers.delete_subscriber"):
        return refused
    item.delete()
    return JsonResponse({}, status=204)


@api_view("notifiers.change_subscriber")
@handle
def unsubscribe(request: HttpRequest, public_id: str) -> JsonResponse:
    """Stop sending, keep the record (and its consent): as the subscriber's own link does."""
    if request.method != "POST":
        return not_allowed("POST")
    item = Subscriber.objects.prefetch_related("components").get(public_id=uuid_or_none(public_id))
    item.suppress(Suppression.UNSUBSCRIBED, clock.now())
    item.save(update_fields=["suppressed_at", "suppression", "updated_at"])
    return reply(subscriber_payload(item))


def uuid_or_none(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise Subscriber.DoesNotExist from None
