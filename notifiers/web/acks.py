"""Acknowledging a page without logging in: the signed one-time link of the page's email
and text (`/ack/<token>`), and the page call's keypad (Twilio's <Gather> callback).

A GET of the link only shows what it would acknowledge, with a button: mail scanners and
link previews fetch links, and must never acknowledge. The POST spends the link, once
(incidents.response.acks). Both are rate-limited per client and per link.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST
from twilio.twiml.voice_response import VoiceResponse

from incidents.response import acks
from notifiers.channels.acks import BadToken, put_token, read_token, voice_callback
from notifiers.models import Delivery
from notifiers.ratelimit import attempt, client_ip
from notifiers.registry import get_channel
from notifiers.web.webhooks import twilio_signed
from statuspage import clock

SCOPE = "ack"


@require_http_methods(["GET", "POST"])
def link(request: HttpRequest, token: str) -> HttpResponse:
    now = clock.now()
    refused = attempt(SCOPE, client_ip(request), token[:200], now)
    if refused:
        response = page(request, "limited", status=429)
        response["Retry-After"] = str(refused.wait)
        return response
    try:
        claim = read_token(token, now)
    except BadToken as bad:
        return page(request, bad.reason, status=410 if bad.reason == "expired" else 404)
    paged = acks.paged_by(claim)
    if paged is None:
        return page(request, "tampered", status=404)
    if request.method == "GET":
        state = "used" if acks.link_spent(claim) else "confirm"
        return page(request, state, paged.incident, status=410 if state == "used" else 200)
    won = acks.spend_link(claim, paged, now)
    if won is None:
        return page(request, "used", paged.incident, status=410)
    return page(request, "done" if won else "already", paged.incident)


def page(request: HttpRequest, state: str, incident=None, status: int = 200) -> HttpResponse:
    return render(
        request, "notifiers/ack.html", {"state": state, "incident": incident}, status=status
    )


@csrf_exempt
@require_POST
def voice(request: HttpRequest, token: str) -> HttpResponse:
    """The page call's keypad: 1 acknowledges and says so; anything else repeats the page."""
    if not twilio_signed(request):
        return HttpResponse("invalid signature", status=403)
    try:
        claim = read_token(token)
    except BadToken:
        return say("expired")
    paged = acks.paged_by(claim)
    if paged is None:
        return say("expired")
    if request.POST.get("Digits", "") == "1":
        won = acks.acknowledge_paged(paged, clock.now())
        return say("done" if won else "already", paged.incident)
    return twiml(put_token(page_call(claim.delivery_id), token, voice_callback))


def page_call(delivery_id: int) -> str:
    """The page call's TwiML again, rendered as it was sent (its callback a placeholder)."""
    delivery = Delivery.objects.select_related("announcement__update__incident").get(id=delivery_id)
    assert delivery.announcement is not None  # paged_by found it on an announcement
    return get_channel("voice").render(delivery.announcement).twiml


def say(kind: str, incident=None) -> HttpResponse:
    text = render_to_string(f"messages/voice/ack_{kind}.txt", {"incident": incident}).strip()
    response = VoiceResponse()
    response.say(text)
    return twiml(str(response))


def twiml(body: str) -> HttpResponse:
    return HttpResponse(body, content_type="application/xml")
