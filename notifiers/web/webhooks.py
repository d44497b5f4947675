"""Provider webhooks: Twilio status callbacks and inbound texts, SendGrid's Event Webhook.

Each request is verified the way its provider signs it before anything is read or
changed: a bad or missing signature gets 403 and changes nothing. A replayed request, signed
but already seen (or, for SendGrid, signed too long ago), changes nothing either
(`notifiers.replays`).
"""

from __future__ import annotations

import json
import logging

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils import translation
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from sendgrid.helpers.eventwebhook import EventWebhook
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from incidents.response import acks
from notifiers.channels.sms import twilio_config
from notifiers.languages import supported_language
from notifiers.models import Delivery
from notifiers.replays import (
    SENDGRID_EVENT,
    TWILIO_INBOUND,
    TWILIO_STATUS,
    SeenProviderEvent,
    fresh,
)
from notifiers.subscribers import Subscriber, SubscriberChannel, Suppression
from statuspage import clock

log = logging.getLogger(__name__)

STOP_WORDS = {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"}
START_WORDS = {"START", "YES", "UNSTOP"}
HELP_WORDS = {"HELP", "INFO"}
# Final Twilio statuses whose error code says the number will never take our texts.
GONE_CODES = {"21610": Suppression.STOP, "30004": Suppression.STOP, "30006": Suppression.INVALID}
SENDGRID_SUPPRESS = {
    "bounce": Suppression.BOUNCE,
    "dropped": Suppression.DROPPED,
    "spamreport": Suppression.SPAM,
    "unsubscribe": Suppression.UNSUBSCRIBED,
    "group_unsubscribe": Suppression.UNSUBSCRIBED,
}


def public_url(request: HttpRequest) -> str:
    """The URL the provider called, as it signed it: our public base URL plus the path."""
    return settings.STATUSPAGE["URL"].rstrip("/") + request.get_full_path()


def twilio_signed(request: HttpRequest) -> bool:
    validator = RequestValidator(twilio_config()["AUTH_TOKEN"])
    signature = request.headers.get("X-Twilio-Signature", "")
    return bool(signature) and validator.validate(public_url(request), request.POST, signature)


@csrf_exempt
@require_POST
def twilio_status(request: HttpRequest) -> HttpResponse:
    if not twilio_signed(request):
        return HttpResponse("invalid signature", status=403)
    status = request.POST.get("MessageStatus", "")[:32]
    delivery_id = request.GET.get("delivery", "")
    if not status or not delivery_id.isdigit():
        return JsonResponse({"error": "MessageStatus and ?delivery= are required"}, status=400)
    sid = request.POST.get("MessageSid", "")
    if sid and not SeenProviderEvent.first_time(TWILIO_STATUS, f"{sid}:{status}", clock.now()):
        return HttpResponse(status=204)
    Delivery.objects.filter(id=int(delivery_id)).update(provider_status=status)
    reason = GONE_CODES.get(request.POST.get("ErrorCode", ""))
    if reason:
        suppress(SubscriberChannel.SMS, [request.POST.get("To", "")], reason)
    return HttpResponse(status=204)


@csrf_exempt
@require_POST
def twilio_inbound(request: HttpRequest) -> HttpResponse:
    """STOP, START and HELP (and their synonyms) texted to our number; on-call staff
    acknowledging a page ("ACK", "ACK KQ47", "KQ47": incidents.response.acks)."""
    if not twilio_signed(request):
        return HttpResponse("invalid signature", status=403)
    phone = request.POST.get("From", "")
    word = request.POST.get("Body", "").strip().upper()
    now = clock.now()
    sid = request.POST.get("MessageSid", "")
    if not sid or not SeenProviderEvent.first_time(TWILIO_INBOUND, sid, now):
        log.warning("twilio inbound without a MessageSid or replayed: %r, ignored", sid[:64])
        return HttpResponse(str(MessagingResponse()), content_type="application/xml")
    subscribers = list(Subscriber.objects.filter(channel=SubscriberChannel.SMS, address=phone))
    if word in STOP_WORDS:
        for subscriber in subscribers:
            subscriber.suppress(Suppression.STOP, now)
            subscriber.save()
        reply = "stop"
    elif word in START_WORDS:
        for subscriber in subscribers:
            subscriber.resume(now)
            subscriber.save()
        reply = "start"
    elif word in HELP_WORDS:
        reply = "help"
    elif (asked := acks.ack_words(word)) is not None:
        return ack_reply(acks.answer_text(phone, asked[1], now))
    else:
        reply = "unknown"
    return twiml_reply(reply, subscribers[0].locale if subscribers else settings.LANGUAGE_CODE)


def twiml_reply(kind: str, language: str) -> HttpResponse:
    """The reply in the texter's language (the subscriber's, if we know the number)."""
    with translation.override(supported_language(language)):
        text = render_to_string(
            f"messages/sms/reply_{kind}.txt",
            {"page_name": settings.STATUSPAGE["NAME"], "page_url": settings.STATUSPAGE["URL"]},
        ).strip()
    response = MessagingResponse()
    if text:
        response.message(text)
    return HttpResponse(str(response), content_type="application/xml")


def ack_reply(answer: acks.Answer) -> HttpResponse:
    """What acknowledging by text did, as TwiML (messages/sms/reply_ack_<kind>.txt)."""
    context = {
        "page_name": settings.STATUSPAGE["NAME"],
        "incident": answer.incident,
        "incidents": answer.incidents,
    }
    text = render_to_string(f"messages/sms/reply_ack_{answer.kind}.txt", context).strip()
    response = MessagingResponse()
    response.message(text)
    return HttpResponse(str(response), content_type="application/xml")


def sendgrid_public_key() -> str:
    if settings.SANDBOX_URL and not settings.SENDGRID["EVENT_WEBHOOK_PUBLIC_KEY"]:
        # Lazy: the sandbox is loaded only in sandbox mode, never in production.
        from notifiers.sandbox.sendgrid import event_public_key

        return event_public_key()
    return settings.SENDGRID["EVENT_WEBHOOK_PUBLIC_KEY"]


def sendgrid_signed(request: HttpRequest) -> bool:
    key = sendgrid_public_key()
    signature = request.headers.get("X-Twilio-Email-Event-Webhook-Signature", "")
    timestamp = request.headers.get("X-Twilio-Email-Event-Webhook-Timestamp", "")
    if not (key and signature and timestamp):
        return False
    try:
        return EventWebhook(key).verify_signature(request.body.decode(), signature, timestamp)
    except (ValueError, UnicodeDecodeError):
        return False


@csrf_exempt
@require_POST
def sendgrid_events(request: HttpRequest) -> HttpResponse:
    if not sendgrid_signed(request):
        return HttpResponse("invalid signature", status=403)
    now = clock.now()
    if not fresh(request.headers.get("X-Twilio-Email-Event-Webhook-Timestamp", ""), now):
        return HttpResponse("stale signature timestamp", status=403)
    try:
        events = json.loads(request.body)
    except ValueError:
        return JsonResponse({"error": "the body must be a JSON array of events"}, status=400)
    if not isinstance(events, list) or not all(isinstance(e, dict) for e in events):
        return JsonResponse({"error": "the body must be a JSON array of events"}, status=400)
    for event in events:
        event_id = str(event.get("sg_event_id", ""))
        if event_id and not SeenProviderEvent.first_time(SENDGRID_EVENT, event_id, now):
            continue
        apply_email_event(event)
    return HttpResponse(status=204)


def apply_email_event(event: dict) -> None:
    kind = str(event.get("event", ""))
    delivery_id = str(event.get("delivery_id", ""))
    if delivery_id.isdigit():
        Delivery.objects.filter(id=int(delivery_id)).update(provider_status=kind[:32])
    reason = SENDGRID_SUPPRESS.get(kind)
    if kind == "bounce" and event.get("type") == "blocked":
        reason = None  # a temporary block by the receiving server, not a dead address
    if reason:
        suppress(SubscriberChannel.EMAIL, [str(event.get("email", "")).lower()], reason)


def suppress(channel: str, addresses: list[str], reason: str) -> int:
    now = clock.now()
    return Subscriber.objects.filter(
        channel=channel, address__in=addresses, suppressed_at__isnull=True
    ).update(suppressed_at=now, suppression=reason, updated_at=now)
