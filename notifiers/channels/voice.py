"""Phone calls to on-call staff through Twilio's Calls API: the message is read out
(TwiML <Say>, said twice), for the page that must wake someone up at night."""

from __future__ import annotations

from dataclasses import dataclass

import requests
from django.conf import settings
from twilio.base.exceptions import TwilioException
from twilio.twiml.voice_response import VoiceResponse

from incidents.messages import render_message
from incidents.models import Action
from notifiers.channels.acks import ack_context, ack_incident, fill, voice_callback
from notifiers.channels.context import message_context
from notifiers.channels.oncall import oncall_targets
from notifiers.channels.sms import classify, twilio_client
from notifiers.recipients import Recipients
from notifiers.registry import MINUTE, Channel, DeliveryError, Part, SendResult, Slot, register

SANDBOX_VOICE_FROM = "+15005550006"


@dataclass(frozen=True)
class Call:
    twiml: str
    # An on-call page: each call's own signed gather callback replaces the placeholder.
    ack_incident: int | None = None


def voice_from() -> str:
    return settings.TWILIO.get("VOICE_FROM") or (SANDBOX_VOICE_FROM if settings.SANDBOX_URL else "")


@register
class VoiceChannel(Channel):
    name = "voice"
    label = "Voice call (Twilio)"
    provider = "twilio"
    priority = 1
    batch_size = 10
    parts = (Part("body"),)
    recipients = frozenset({Recipients.ONCALL})
    # A call wakes someone: only once the page has had five minutes to be acknowledged.
    escalation = (Slot(Action.PAGE, 5 * MINUTE),)
    sandbox = "twilio"

    def targets(self, announcement):
        if announcement.recipients == "oncall":
            return oncall_targets("phone", announcement)
        return []

    def render(self, announcement) -> Call:
        """The message said twice; a page's inside a one-digit Gather (1 acknowledges)
        whose action is the call's signed callback (notifiers.web.acks.voice)."""
        ack = ack_context(announcement, voice_callback)
        context = {**message_context(announcement), "ack_by_keypad": bool(ack)}
        text = render_message("voice", announcement.update.kind, context, "body")
        response = VoiceResponse()
        said = (
            response.gather(num_digits=1, action=ack["ack_url"], method="POST") if ack else response
        )
        said.say(text)
        said.pause(length=1)
        said.say(text)
        return Call(str(response), ack_incident(announcement))

    def send_batch(self, message: Call, deliveries) -> list[SendResult]:
        try:
            client, http = twilio_client()
        except DeliveryError as error:
            return [SendResult(d.id, error=error) for d in deliveries]
        results = []
        for delivery in deliveries:
            try:
                twiml = fill(message.twiml, message.ack_incident, delivery.id, voice_callback)
                call = client.calls.create(to=delivery.target, from_=voice_from(), twiml=twiml)
            except (TwilioException, requests.RequestException) as error:
                results.append(SendResult(delivery.id, error=classify(error, http)))
                continue
            results.append(SendResult(delivery.id, provider_id=call.sid))
        return results
