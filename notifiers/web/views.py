"""Public subscribe flows, preferences and unsubscribe by signed link (no login needed).

What a subscriber asked for (address, components) travels inside a signed token until it
is confirmed, so an unconfirmed request can never change someone's existing subscription.
Confirmation messages are deliveries in the outbox (notifiers.delivery.confirmations), sent by
tasks; the views only write rows and queue them.
"""

from __future__ import annotations

import hmac
import json
import logging
import secrets
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from notifiers.channels.context import manage_token, read_manage_token
from notifiers.delivery import confirmations
from notifiers.ratelimit import (
    PUSH_SCOPE,
    SMS_SCOPE,
    SMS_SITE,
    SUBSCRIBE,
    Refusal,
    attempt,
    client_ip,
    wait_seconds,
)
from notifiers.subscribers import (
    BACKUP_CHANNELS,
    Subscriber,
    SubscriberChannel,
    Suppression,
    WebhookFormat,
)
from notifiers.web.forms import (
    BackupForm,
    CodeForm,
    DeviceForm,
    PreferencesForm,
    SubscribeForm,
)
from statuspage import clock, viewer
from statuspage.models import Component

if TYPE_CHECKING:
    from collections.abc import Mapping

log = logging.getLogger(__name__)


@require_http_methods(["GET", "POST"])
def subscribe(request: HttpRequest) -> HttpResponse:
    """Validate, rate-limit, then only write rows: the confirmation (opt-in link, code,
    webhook ping) is a delivery in the outbox, sent by a task, never in the request."""
    form = SubscribeForm(request.POST or None, initial={"language": translation.get_language()})
    if request.method == "POST" and form.is_valid():
        channel, address = form.cleaned_data["channel"], form.cleaned_data["address"]
        backup = form.cleaned_data.get("backup", "")
        refused = refused_by_limits(request, form, channel, address) or (
            backup and refused_by_limits(request, form, BACKUP_CHANNELS[channel], backup)
        )
        if refused:
            return refused
        subscriber, created = open_subscription(channel, address)
        language = form.cleaned_data["language"]
        component_ids = [c.id for c in form.cleaned_data["components"]]
        if channel == SubscriberChannel.WEBHOOK:
            if not created:
                return webhook_exists(request, subscriber)
            return start_webhook(request, subscriber, form.cleaned_data, language)
        confirmations.request(subscriber, component_ids, language, clock.now())
        backup_code = start_backup(subscriber, backup, language) if backup else ""
        if channel == SubscriberChannel.EMAIL:
            context = {"address": address, "backup_code": backup_code}
            return render(request, "notifiers/check_inbox.html", context)
        token = confirmations.pending_token(subscriber, component_ids, language)
        return redirect("notifiers:confirm-sms", token=token)
    status = 400 if request.method == "POST" else 200
    return render(request, "notifiers/subscribe.html", {"form": form}, status=status)


def refused_by_limits(
    request: HttpRequest, form: SubscribeForm, channel: str, address: str
) -> HttpResponse | None:
    """The refusal, when this address may not be sent a confirmation now: the limits per
    client and per address, and for a text the SMS-pumping budgets."""
    if wait_seconds(SUBSCRIBE, client_ip(request), f"{channel}:{address}", clock.now()):
        return render(
            request, "notifiers/subscribe.html", {"form": form, "limited": True}, status=429
        )
    if channel == SubscriberChannel.SMS:
        refused = attempt(SMS_SCOPE, client_ip(request), SMS_SITE, clock.now())
        if refused is not None:
            return sms_refused(request, form, refused)
    return None


def start_backup(primary: Subscriber, address: str, language: str) -> str:
    """Write the backup contact given on the subscribe form (following nothing of its
    own) and queue its confirmation; for a mobile, the URL where its code is entered."""
    channel = primary.backup_channel
    assert channel is not None  # the form takes a backup only for email and SMS
    backup, _ = open_subscription(channel, address, follows_nothing=True)
    confirmations.request(backup, [], language, clock.now(), backup_for=primary)
    if channel != SubscriberChannel.SMS:
        return ""
    token = confirmations.pending_token(backup, [], language, str(primary.public_id))
    return reverse("notifiers:confirm-sms", args=[token])


def start_webhook(
    request: HttpRequest, subscriber: Subscriber, data: dict, language: str
) -> HttpResponse:
    """A new webhook's signing secret, shown once; the endpoint is confirmed by the
    verification ping. Only for a subscriber this request created (webhook_exists).

    Components and language apply at once: a webhook is sent nothing before its ping is answered.
    """
    subscriber.signing_secret = secrets.token_hex(32)
    subscriber.webhook_format = data["webhook_format"] or WebhookFormat.STATUSPAGE
    subscriber.confirmed_at = None
    subscriber.all_components = not data["components"]
    subscriber.locale = language
    with transaction.atomic():
        subscriber.save()
        subscriber.components.set(data["components"])
        confirmations.request(subscriber, [], language, clock.now())
    context = {
        "subscriber": subscriber,
        "manage_url": reverse("notifiers:preferences", args=[manage_token(subscriber.public_id)]),
    }
    return render(request, "notifiers/webhook_added.html", context)


def sms_refused(request: HttpRequest, form: SubscribeForm, refused: Refusal) -> HttpResponse:
    """Past the site's hourly budget of confirmation texts SMS sign-up pauses (staff see it
    among the console's alerts); past this client's, it waits like any other limit."""
    paused = refused.budget == "destination"
    if paused:
        log.warning("SMS sign-up paused: the site's hourly budget of confirmation texts is spent")
    context = {"form": form, "limited": not paused, "sms_paused": paused}
    response = render(request, "notifiers/subscribe.html", context, status=503 if paused else 429)
    response["Retry-After"] = str(refused.wait)
    return response


def webhook_exists(request: HttpRequest, subscriber: Subscriber) -> HttpResponse:
    """A webhook URL already subscribed is never changed by whoever posts it again: its
    secret, format and components stay, and its secret is never shown again. Only its
    owner's manage link changes it. One not yet confirmed gets its ping again, signed with
    the secret its first requester was shown."""
    if subscriber.confirmed_at is None and subscriber.suppressed_at is None:
        confirmations.request(subscriber, [], subscriber.locale, clock.now())
    return render(request, "notifiers/webhook_exists.html", {"subscriber": subscriber})


def open_subscription(
    channel: str, address: str, follows_nothing: bool = False
) -> tuple[Subscriber, bool]:
    """The subscriber for this address, and whether this request created it (following
    nothing, for a backup contact)."""
    now = clock.now()
    defaults = {"created_at": now, "updated_at": now, "all_components": not follows_nothing}
    with transaction.atomic():
        # Made on an audience's page (statuspage.public.private): bound to that audience,
        # so it also hears of the incidents private to it.
        defaults["audience"] = viewer.audience()
        return Subscriber.objects.get_or_create(channel=channel, address=address, defaults=defaults)


def start_subscription(channel: str, address: str) -> Subscriber:
    return open_subscription(channel, address)[0]


def confirm(subscriber: Subscriber, component_ids: list[int], language: str = "") -> None:
    """A proven opt-in: it also lifts any earlier suppression of this address."""
    now = clock.now()
    subscriber.confirm(now)
    subscriber.locale = language or subscriber.locale
    subscriber.suppressed_at = None
    subscriber.suppression = ""
    subscriber.all_components = not component_ids
    with transaction.atomic():
        subscriber.save()
        subscriber.components.set(Component.objects.filter(id__in=component_ids))


def pending_subscriber(token: str) -> tuple[Subscriber | None, list[int], str, str]:
    """Who confirms, their components, their language, and whose backup they become."""
    data = confirmations.read_pending(token)
    if data is None:
        return None, [], "", ""
    subscriber = Subscriber.objects.filter(public_id=data["s"]).first()
    return subscriber, data["c"], data.get("l", ""), data.get("b", "")


def confirm_backup(backup: Subscriber, primary_public_id: str, language: str) -> Subscriber | None:
    """A proven opt-in of a backup contact: it becomes the primary's backup (replacing
    an earlier one, which is retired). A contact of no subscription of its own is written
    to in the language of the request. None if the primary is gone."""
    primary = Subscriber.objects.filter(public_id=primary_public_id).first()
    if primary is None:
        return None
    now = clock.now()
    with transaction.atomic():
        if backup.confirm_as_backup(now):
            backup.locale = language or primary.locale
            backup.components.clear()
        backup.save()
        replaced = primary.use_backup(backup, now)
        primary.save(update_fields=["fallback", "updated_at"])
        if replaced is not None and replaced.retire_backup(now):
            replaced.save(update_fields=["suppressed_at", "suppression", "updated_at"])
    return primary


def finish_confirmation(
    request: HttpRequest,
    subscriber: Subscriber,
    component_ids: list[int],
    language: str,
    backup_for: str,
) -> HttpResponse:
    """Confirm a subscription, or a backup contact, and show its manage page."""
    if backup_for:
        primary = confirm_backup(subscriber, backup_for, language)
        if primary is None:
            return render(request, "notifiers/link_invalid.html", status=400)
        return redirect("notifiers:preferences", token=manage_token(primary.public_id))
    confirm(subscriber, component_ids, language)
    return redirect("notifiers:preferences", token=manage_token(subscriber.public_id))


@require_http_methods(["GET", "POST"])
def confirm_email(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows a button and POST confirms: mail scanners that open links confirm nothing."""
    subscriber, component_ids, language, backup_for = pending_subscriber(token)
    if subscriber is None:
        return render(request, "notifiers/link_invalid.html", status=400)
    if request.method == "POST":
        return finish_confirmation(request, subscriber, component_ids, language, backup_for)
    context = {"subscriber": subscriber, "backup": bool(backup_for)}
    return render(request, "notifiers/confirm_email.html", context)


@require_http_methods(["GET", "POST"])
def confirm_sms(request: HttpRequest, token: str) -> HttpResponse:
    subscriber, component_ids, language, backup_for = pending_subscriber(token)
    if subscriber is None:
        return render(request, "notifiers/link_invalid.html", status=400)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        right = subscriber.check_code(form.cleaned_data["code"], clock.now())
        subscriber.save(update_fields=["code_tries"])
        if right:
            return finish_confirmation(request, subscriber, component_ids, language, backup_for)
        form.add_error(
            "code", _("This code is wrong or has expired. Check the latest text we sent.")
        )
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "notifiers/confirm_sms.html",
        {"form": form, "subscriber": subscriber},
        status=status,
    )


def managed_subscriber(token: str) -> Subscriber | None:
    public_id = read_manage_token(token)
    if not public_id:
        return None
    return Subscriber.objects.select_related("fallback").filter(public_id=public_id).first()


@require_http_methods(["GET", "POST"])
def preferences(request: HttpRequest, token: str) -> HttpResponse:
    subscriber = managed_subscriber(token)
    if subscriber is None:
        return render(request, "notifiers/link_invalid.html", status=400)
    form = PreferencesForm(
        request.POST or None, initial=preferences_initial(subscriber), audience=subscriber.audience
    )
    saved = False
    backup_only = subscriber.is_backup_only()
    if request.method == "POST" and form.is_valid():
        chosen = list(form.cleaned_data["components"])
        subscriber.all_components = not chosen and not backup_only
        subscriber.locale = form.cleaned_data["language"]
        subscriber.updated_at = clock.now()
        with transaction.atomic():
            subscriber.save(update_fields=["all_components", "locale", "updated_at"])
            subscriber.components.set(chosen)
        saved = True
    context = preferences_context(
        subscriber,
        token,
        form=form,
        saved=saved,
        backup_only=subscriber.is_backup_only() if saved else backup_only,
    )
    return render(
        request, "notifiers/preferences.html", context, status=400 if form.errors else 200
    )


def preferences_initial(subscriber: Subscriber) -> dict[str, Any]:
    return {
        "components": [] if subscriber.all_components else list(subscriber.components.all()),
        "language": subscriber.locale,
    }


def preferences_context(subscriber: Subscriber, token: str, **extra) -> dict[str, Any]:
    """The manage page's context: the preferences form, and the backup contact's."""
    form = extra.pop("form", None) or PreferencesForm(
        initial=preferences_initial(subscriber), audience=subscriber.audience
    )
    channel = subscriber.backup_channel
    context = {
        "form": form,
        "subscriber": subscriber,
        "token": token,
        "backup": subscriber.fallback,
        "backup_form": BackupForm(channel) if channel else None,
    }
    return {**context, **extra}


@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """GET asks; POST unsubscribes. POST is CSRF-exempt for RFC 8058 one-click
    unsubscribe, which mail providers send without any cookie; the signed token is the proof."""
    subscriber = managed_subscriber(token)
    if subscriber is None:
        return render(request, "notifiers/link_invalid.html", status=400)
    if request.method == "POST":
        subscriber.suppress(Suppression.UNSUBSCRIBED, clock.now())
        subscriber.save(update_fields=["suppressed_at", "suppression", "updated_at"])
        return render(request, "notifiers/unsubscribed.html", {"subscriber": subscriber})
    return render(request, "notifiers/unsubscribe.html", {"subscriber": subscriber, "token": token})


def app_key_accepted(request: HttpRequest) -> bool:
    """When PUSH_APP_KEYS is set, only a caller with one of them in X-App-Key is the app."""
    keys = settings.PUSH_APP_KEYS
    given = request.headers.get("X-App-Key", "").encode()
    # Every key is compared, so the time taken does not tell which one came close.
    matches = [hmac.compare_digest(given, key.encode()) for key in keys]
    return not keys or any(matches)


@csrf_exempt
@require_POST
def register_device(request: HttpRequest) -> JsonResponse:
    """An app registers its install for push (JSON or form body); 400 says what is wrong,
    401 that it is not the app (PUSH_APP_KEYS), 429 that this client or installation
    registered too often (RATE_LIMITS["push"])."""
    if not app_key_accepted(request):
        return JsonResponse(
            {"errors": {"__all__": ["Registration needs this app's key in X-App-Key."]}},
            status=401,
        )
    data: Mapping[str, Any] | None = request.POST
    if request.content_type == "application/json":
        try:
            data = json.loads(request.body)
        except ValueError:
            data = None
        if not isinstance(data, dict):
            return JsonResponse(
                {"errors": {"__all__": ["The body must be a JSON object."]}}, status=400
            )
    form = DeviceForm(data)
    if not form.is_valid():
        return JsonResponse({"errors": form.errors}, status=400)
    wait = wait_seconds(PUSH_SCOPE, client_ip(request), form.cleaned_data["fid"], clock.now())
    if wait:
        refused = JsonResponse(
            {"errors": {"__all__": ["Too many registrations; retry later."]}}, status=429
        )
        refused["Retry-After"] = str(wait)
        return refused
    subscriber = start_subscription(SubscriberChannel.PUSH, form.cleaned_data["fid"])
    subscriber.locale = form.cleaned_data["locale"] or subscriber.locale
    confirm(subscriber, [c.id for c in form.cleaned_data["components"]])
    return JsonResponse(
        {"id": str(subscriber.public_id), "active": True, "locale": subscriber.locale}, status=201
    )
