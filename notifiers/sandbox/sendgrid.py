"""SendGrid's v3 Mail Send and its signed Event Webhook, for the sendgrid SDK.

- ``POST /v3/mail/send`` with ``Authorization: Bearer <key>`` (any key starting ``SG.``):
  validated like SendGrid does (1 to 1000 personalizations, a from address, a subject,
  content, unique recipients), answered ``202`` with ``X-Message-Id``, or ``400 {"errors":
  [{"message", "field", "help"}]}``. Each recipient's copy, with its substitutions applied,
  lands in its inbox (one record per recipient).
- ``POST /_sandbox/sendgrid/events`` ``{"url", "events": [...]}`` posts events to our
  Event Webhook signed as SendGrid signs them: ECDSA P-256 over timestamp + body, base64
  DER in X-Twilio-Email-Event-Webhook-Signature. ``"signature": "bad"`` signs with another
  key. The sandbox's key is fixed, so settings can name its public half.
"""

from __future__ import annotations

import base64
import json
import secrets
import time

import aiohttp
from aiohttp import web
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from notifiers.sandbox.faults import inject_faults
from notifiers.sandbox.recorder import RECORDER_KEY, Preview

PROVIDER = "sendgrid"
MAX_PERSONALIZATIONS = 1000
SIGNATURE_HEADER = "X-Twilio-Email-Event-Webhook-Signature"
TIMESTAMP_HEADER = "X-Twilio-Email-Event-Webhook-Timestamp"
# A sandbox-only signing key, fixed so a separate web process can verify what it signs.
_EVENT_KEY = ec.derive_private_key(0x5A4D_B0C5_5EED_0001_F00D, ec.SECP256R1())
_WRONG_KEY = ec.derive_private_key(0xBAD_C0FFEE, ec.SECP256R1())


def event_public_key() -> str:
    """The verification key, base64 DER, as SendGrid's Mail Settings show it."""
    der = _EVENT_KEY.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(der).decode()


def sendgrid_error(status: int, message: str, field: str | None = None) -> web.Response:
    return web.json_response(
        {"errors": [{"message": message, "field": field, "help": None}]}, status=status
    )


class Invalid(Exception):
    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@inject_faults(PROVIDER, sendgrid_error)
async def mail_send(request: web.Request) -> web.Response:
    scheme, _, key = request.headers.get("Authorization", "").partition(" ")
    if scheme != "Bearer" or not key.startswith("SG."):
        return sendgrid_error(
            401, "The provided authorization grant is invalid, expired, or revoked"
        )
    try:
        mail = await request.json()
        recipients = _validate(mail)
    except ValueError:
        return sendgrid_error(400, "Bad Request")
    except Invalid as invalid:
        return sendgrid_error(400, str(invalid), invalid.field)
    message_id = secrets.token_urlsafe(16)
    for personalization, address in recipients:
        _deliver(request.app, mail, personalization, address, message_id)
    return web.Response(status=202, headers={"X-Message-Id": message_id})


def _validate(mail) -> list[tuple[dict, str]]:
    if not isinstance(mail, dict):
        raise Invalid("Bad Request")
    personalizations = mail.get("personalizations")
    if not isinstance(personalizations, list) or not personalizations:
        raise Invalid("The personalizations field is required.", "personalizations")
    if len(personalizations) > MAX_PERSONALIZATIONS:
        raise Invalid(
            "The personalizations field must have 1000 or fewer items.", "personalizations"
        )
    if not (mail.get("from") or {}).get("email"):
        raise Invalid("The from object must be provided for every email send.", "from.email")
    if not mail.get("content"):
        raise Invalid("Unless a valid template_id is provided, content is required.", "content")
    if not mail.get("subject") and not all(p.get("subject") for p in personalizations):
        raise Invalid("The subject is required.", "subject")
    recipients, seen = [], set()
    for index, personalization in enumerate(personalizations):
        for to in personalization.get("to") or []:
            address = str(to.get("email", "")).lower()
            if "@" not in address:
                raise Invalid("Does not contain a valid address.", f"personalizations.{index}.to")
            if address in seen:
                raise Invalid(
                    "Each email address in the personalization block should be unique.",
                    f"personalizations.{index}.to",
                )
            seen.add(address)
            recipients.append((personalization, address))
        if not personalization.get("to"):
            raise Invalid(
                "The to array is required for all personalization objects.",
                f"personalizations.{index}.to",
            )
    return recipients


def _deliver(
    app: web.Application, mail: dict, personalization: dict, address: str, message_id: str
) -> None:
    substitutions = personalization.get("substitutions") or {}
    contents = {c["type"]: _substitute(c["value"], substitutions) for c in mail["content"]}
    subject = _substitute(personalization.get("subject") or mail["subject"], substitutions)
    copy = {
        "from": mail["from"],
        "subject": subject,
        "text": contents.get("text/plain", ""),
        "html": contents.get("text/html", ""),
        "headers": {**(mail.get("headers") or {}), **(personalization.get("headers") or {})},
        "custom_args": {
            **(mail.get("custom_args") or {}),
            **(personalization.get("custom_args") or {}),
        },
        "message_id": message_id,
    }
    app[RECORDER_KEY].add(
        PROVIDER, "email", address, copy, Preview(title=subject, body=copy["text"])
    )


def _substitute(text: str, substitutions: dict[str, str]) -> str:
    for key, value in substitutions.items():
        text = text.replace(key, value)
    return text


def sign_events(body: str, timestamp: str, wrong_key: bool = False) -> str:
    key = _WRONG_KEY if wrong_key else _EVENT_KEY
    signature = key.sign((timestamp + body).encode(), ec.ECDSA(hashes.SHA256()))
    return base64.b64encode(signature).decode()


async def post_events(request: web.Request) -> web.Response:
    data = await request.json()
    # SendGrid gives every event an id; a test may pass its own to replay one.
    events = [{"sg_event_id": secrets.token_urlsafe(16), **e} for e in data["events"]]
    body = json.dumps(events)
    timestamp = str(data.get("timestamp") or int(time.time()))
    headers = {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: sign_events(body, timestamp, wrong_key=data.get("signature") == "bad"),
        TIMESTAMP_HEADER: timestamp,
    }
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
        async with session.post(data["url"], data=body, headers=headers) as response:
            return web.json_response({"status": response.status, "reply": await response.text()})


def register(app: web.Application) -> None:
    app.router.add_post("/v3/mail/send", mail_send, name="sendgrid_mail_send")
    app.router.add_post("/_sandbox/sendgrid/events", post_events, name="sandbox_sendgrid_events")
