"""A subscriber adds, changes or removes their backup contact from their manage page
(signed link, no login). The backup is confirmed exactly as a subscription is (an email
link, a texted code; the same limits and SMS-pumping budget) before it becomes the
backup: until then the old one, if any, stays."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from notifiers.delivery import confirmations
from notifiers.ratelimit import SMS_SCOPE, SMS_SITE, SUBSCRIBE, attempt, client_ip, wait_seconds
from notifiers.subscribers import Subscriber, SubscriberChannel
from notifiers.web.forms import BackupForm
from notifiers.web.views import managed_subscriber, open_subscription, preferences_context
from statuspage import clock


def manage_page(
    request: HttpRequest, primary: Subscriber, token: str, status: int, **extra
) -> HttpResponse:
    context = preferences_context(primary, token, **extra)
    return render(request, "notifiers/preferences.html", context, status=status)


@require_POST
def add_backup(request: HttpRequest, token: str) -> HttpResponse:
    """Validate and rate-limit, then write the backup contact (following nothing of its
    own) and queue its confirmation; it becomes the backup once confirmed."""
    primary = managed_subscriber(token)
    if primary is None or primary.backup_channel is None:
        return render(request, "notifiers/link_invalid.html", status=400)
    channel = primary.backup_channel
    form = BackupForm(channel, request.POST)
    if not form.is_valid():
        return manage_page(request, primary, token, 400, backup_form=form)
    address, now = form.cleaned_data["address"], clock.now()
    if wait_seconds(SUBSCRIBE, client_ip(request), f"{channel}:{address}", now):
        return manage_page(request, primary, token, 429, backup_form=form, backup_limited=True)
    if channel == SubscriberChannel.SMS:
        refused = attempt(SMS_SCOPE, client_ip(request), SMS_SITE, now)
        if refused is not None:
            paused = refused.budget == "destination"
            response = manage_page(
                request,
                primary,
                token,
                503 if paused else 429,
                backup_form=form,
                backup_limited=not paused,
                sms_paused=paused,
            )
            response["Retry-After"] = str(refused.wait)
            return response
    backup, _ = open_subscription(channel, address, follows_nothing=True)
    confirmations.request(backup, [], primary.locale, now, backup_for=primary)
    if channel == SubscriberChannel.EMAIL:
        return render(request, "notifiers/check_inbox.html", {"address": address})
    pending = confirmations.pending_token(backup, [], primary.locale, str(primary.public_id))
    return redirect("notifiers:confirm-sms", token=pending)


@require_POST
def remove_backup(request: HttpRequest, token: str) -> HttpResponse:
    """The subscriber has no backup any more; a backup contact that follows nothing of
    its own and backs no one else up is unsubscribed."""
    primary = managed_subscriber(token)
    if primary is None:
        return render(request, "notifiers/link_invalid.html", status=400)
    backup = primary.fallback
    if backup is not None:
        now = clock.now()
        primary.fallback = None
        primary.updated_at = now
        primary.save(update_fields=["fallback", "updated_at"])
        if backup.retire_backup(now):
            backup.save(update_fields=["suppressed_at", "suppression", "updated_at"])
    return redirect("notifiers:preferences", token=token)
