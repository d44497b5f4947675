"""Twilio's REST API (Messages and Calls) and its signed callbacks, for the twilio SDK.

- ``POST /2010-04-01/Accounts/{sid}/Messages.json`` and ``.../Calls.json`` with HTTP basic
  auth (the sandbox account below), answered in Twilio's JSON shapes; errors as
  ``{"code", "message", "more_info", "status"}``, which the SDK raises as
  TwilioRestException.
- After accepting a message with a ``StatusCallback``, the sandbox posts ``sent`` then
  ``delivered`` (or ``undelivered``) to it, signed with X-Twilio-Signature exactly as
  Twilio signs (the SDK's own RequestValidator, keyed with the account's auth token).
- ``POST /_sandbox/twilio/inbound`` ``{"url", "from", "to", "body"}``: a phone texts us;
  the signed inbound webhook is posted to ``url`` and its TwiML reply is delivered back to
  the phone. ``"signature": "bad"`` sends a wrong signature, for negative tests.
- ``POST /_sandbox/twilio/answer`` ``{"to", "digits"}``: the phone answers the latest call
  made to it and presses `digits`: the call's ``<Gather>`` action is posted, signed as
  Twilio signs it (CallSid, Digits, From, To), and what its TwiML reply says is recorded
  on the phone (kind "call"). 404 if no call to it had a Gather.

Magic numbers, as Twilio's test credentials have them: ``+15005550001`` is invalid (21211),
``+15005550004`` is blocked (21610, as is any number that texted STOP here), and
``+15005550009`` is accepted but reported ``undelivered``.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import re
import secrets
from xml.etree import ElementTree

import aiohttp
from aiohttp import web
from twilio.request_validator import RequestValidator

from notifiers.sandbox.faults import inject_faults
from notifiers.sandbox.recorder import RECORDER_KEY, Preview

log = logging.getLogger(__name__)

PROVIDER = "twilio"
ACCOUNT_SID = "AC" + "5a" * 16
AUTH_TOKEN = "sandbox-twilio-auth-token-0000000"
API = "/2010-04-01/Accounts/{sid}"
E164 = re.compile(r"^\+[1-9]\d{6,14}$")
INVALID_NUMBER = "+15005550001"
BLOCKED_NUMBER = "+15005550004"
UNDELIVERED_NUMBER = "+15005550009"
STOP_WORDS = {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"}
START_WORDS = {"START", "YES", "UNSTOP"}
GSM7 = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    "ÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà^{}\\[~]|€"
)
STOPPED_KEY = web.AppKey("twilio_stopped", set)
CALLBACK_RETRY_DELAYS_S = (0, 0.2, 0.5, 1.0, 2.0)


def segments(body: str) -> int:
    """How many SMS segments a body takes: GSM-7 160/153 characters, else UCS-2 70/67."""
    single, multi = (160, 153) if set(body) <= GSM7 else (70, 67)
    return 1 if len(body) <= single else -(-len(body) // multi)


def twilio_error(status: int, message: str, code: int | None = None) -> web.Response:
    code = code or {401: 20003, 404: 20404, 429: 20429}.get(status, 20500)
    return web.json_response(
        {
            "code": code,
            "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        },
        status=status,
    )


def _authorized(request: web.Request) -> bool:
    scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        user, _, password = base64.b64decode(encoded).decode().partition(":")
    except ValueError:
        return False
    return user == ACCOUNT_SID == request.match_info["sid"] and password == AUTH_TOKEN


@inject_faults(PROVIDER, twilio_error)
async def create_message(request: web.Request) -> web.Response:
    if not _authorized(request):
        return twilio_error(401, "Authenticate")
    form = await request.post()
    to, body = str(form.get("To", "")), str(form.get("Body", ""))
    sender = form.get("MessagingServiceSid") or form.get("From")
    problem = _message_problem(request, to, body, sender)
    if problem:
        return twilio_error(400, *problem)
    sid = "SM" + secrets.token_hex(16)
    count = segments(body)
    request.app[RECORDER_KEY].add(
        PROVIDER, "sms", to, dict(form), Preview(title=f"SMS from {str(sender)}", body=body)
    )
    callback = form.get("StatusCallback")
    if callback:
        final = "undelivered" if to == UNDELIVERED_NUMBER else "delivered"
        _spawn(request.app, _post_status(str(callback), sid, to, final))
    return web.json_response(_message_json(sid, to, body, form, count), status=201)


def _message_problem(request: web.Request, to: str, body: str, sender) -> tuple | None:
    if not sender:
        return ("A 'From' phone number or a Messaging Service SID is required.", 21603)
    if not body:
        return ("Message body is required.", 21602)
    if not E164.match(to) or to == INVALID_NUMBER:
        return (f"The 'To' number {to} is not a valid phone number.", 21211)
    if to == BLOCKED_NUMBER or to in request.app[STOPPED_KEY]:
        return ("Attempt to send to unsubscribed recipient", 21610)
    if len(body) > 1600:
        return ("The concatenated message body exceeds the 1600 character limit.", 21617)
    return None


def _message_json(sid: str, to: str, body: str, form, count: int) -> dict:
    return {
        "sid": sid,
        "account_sid": ACCOUNT_SID,
        "messaging_service_sid": form.get("MessagingServiceSid"),
        "from": form.get("From"),
        "to": to,
        "body": body,
        "status": "accepted" if form.get("MessagingServiceSid") else "queued",
        "num_segments": str(count),
        "direction": "outbound-api",
        "price": None,
        "error_code": None,
        "uri": f"{API.format(sid=ACCOUNT_SID)}/Messages/{sid}.json",
    }


@inject_faults(PROVIDER, twilio_error)
async def create_call(request: web.Request) -> web.Response:
    if not _authorized(request):
        return twilio_error(401, "Authenticate")
    form = await request.post()
    to = str(form.get("To", ""))
    if not E164.match(to) or to == INVALID_NUMBER:
        return twilio_error(
            400, f"The phone number you are attempting to call, {to}, is not valid.", 21217
        )
    if not (form.get("Twiml") or form.get("Url")) or not form.get("From"):
        return twilio_error(400, "Twiml or Url, and From, are required.", 21205)
    spoken = _spoken_text(str(form.get("Twiml", "")))
    request.app[RECORDER_KEY].add(
        PROVIDER,
        "call",
        to,
        dict(form),
        Preview(title=f"Call from {str(form['From'])}", body=spoken),
    )
    sid = "CA" + secrets.token_hex(16)
    request.app[CALLS_KEY][to] = {
        "sid": sid,
        "from": str(form["From"]),
        "twiml": str(form.get("Twiml", "")),
    }
    return web.json_response(
        {
            "sid": sid,
            "account_sid": ACCOUNT_SID,
            "to": to,
            "from": form["From"],
            "status": "queued",
        },
        status=201,
    )


def _spoken_text(twiml: str) -> str:
    try:
        return " ".join(node.text or "" for node in ElementTree.fromstring(twiml).iter("Say"))
    except ElementTree.ParseError:
        return twiml


def _gather_action(twiml: str) -> str:
    try:
        gather = ElementTree.fromstring(twiml).find("Gather")
    except ElementTree.ParseError:
        return ""
    return "" if gather is None else gather.get("action", "")


async def answer(request: web.Request) -> web.Response:
    """A phone answers its latest call and presses keys: post the Gather's action."""
    data = await request.json()
    phone = str(data.get("to", ""))
    call = request.app[CALLS_KEY].get(phone) or {}
    action = _gather_action(str(call.get("twiml", "")))
    if not action:
        return web.json_response({"error": f"no call to {phone} asks for keys"}, status=404)
    params = {
        "AccountSid": ACCOUNT_SID,
        "CallSid": call["sid"],
        "From": call["from"],
        "To": phone,
        "Digits": str(data.get("digits", "")),
        "CallStatus": "in-progress",
        "Direction": "outbound-api",
    }
    status, reply = await _post_signed(action, params)
    spoken = _spoken_text(reply)
    request.app[RECORDER_KEY].add(
        PROVIDER, "call", phone, {"Digits": params["Digits"]}, Preview(title="Keys", body=spoken)
    )
    return web.json_response({"status": status, "reply": reply})


def sign(url: str, params: dict[str, str]) -> str:
    return RequestValidator(AUTH_TOKEN).compute_signature(url, params)


async def _post_signed(
    url: str, params: dict[str, str], signature: str | None = None
) -> tuple[int, str]:
    headers = {"X-Twilio-Signature": signature or sign(url, params)}
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
        async with session.post(url, data=params, headers=headers) as response:
            return response.status, await response.text()


async def _post_status(url: str, sid: str, to: str, final: str) -> None:
    for status in ("sent", final):
        params = {
            "AccountSid": ACCOUNT_SID,
            "MessageSid": sid,
            "SmsSid": sid,
            "MessageStatus": status,
            "SmsStatus": status,
            "To": to,
            "ApiVersion": "2010-04-01",
        }
        if status == "undelivered":
            params["ErrorCode"] = "30003"
        if not await _post_with_retries(url, params):
            return


async def _post_with_retries(url: str, params: dict[str, str]) -> bool:
    """Post a callback, retrying a 5xx answer a few times as Twilio's connection overrides
    (``#rp=5xx``) allow; a refused connection is given up at once."""
    for delay in CALLBACK_RETRY_DELAYS_S:
        await asyncio.sleep(delay)
        try:
            status, _ = await _post_signed(url, params)
        except (TimeoutError, aiohttp.ClientError, OSError) as error:
            log.info("status callback to %s failed: %s", url, error)
            return False
        if status < 500:
            return True
    return False


def _spawn(app: web.Application, coroutine) -> None:
    tasks = app[CALLBACKS_KEY]
    task = asyncio.get_running_loop().create_task(coroutine)
    tasks.add(task)
    task.add_done_callback(tasks.discard)


async def inbound(request: web.Request) -> web.Response:
    """A phone sends us a text: post the signed webhook, deliver the TwiML reply."""
    data = await request.json()
    phone, ours, body = data.get("from", ""), data.get("to", ""), data.get("body", "")
    params = {
        "AccountSid": ACCOUNT_SID,
        "MessageSid": "SM" + secrets.token_hex(16),
        "From": phone,
        "To": ours,
        "Body": body,
        "NumMedia": "0",
    }
    _track_opt_out(request.app, phone, body)
    signature = "bad-signature" if data.get("signature") == "bad" else None
    status, reply = await _post_signed(data["url"], params, signature)
    for text in _twiml_messages(reply):
        request.app[RECORDER_KEY].add(
            PROVIDER, "sms", phone, {"Body": text, "To": phone}, Preview(title="Reply", body=text)
        )
    return web.json_response({"status": status, "reply": reply})


def _track_opt_out(app: web.Application, phone: str, body: str) -> None:
    """Twilio's own opt-out handling: after STOP it refuses to text that phone (21610)."""
    word = body.strip().upper()
    if word in STOP_WORDS:
        app[STOPPED_KEY].add(phone)
    elif word in START_WORDS:
        app[STOPPED_KEY].discard(phone)


def _twiml_messages(reply: str) -> list[str]:
    try:
        return [node.text or "" for node in ElementTree.fromstring(reply).iter("Message")]
    except ElementTree.ParseError:
        return []


async def clear_opt_outs(request: web.Request) -> web.Response:
    request.app[STOPPED_KEY].clear()
    return web.json_response({"cleared": True})


CALLBACKS_KEY = web.AppKey("twilio_callbacks", set)
CALLS_KEY = web.AppKey("twilio_calls", dict[str, dict[str, str]])


def register(app: web.Application) -> None:
    app[STOPPED_KEY] = set()
    app[CALLBACKS_KEY] = set()
    app[CALLS_KEY] = {}
    base = API.format(sid="{sid}")
    app.router.add_post(f"{base}/Messages.json", create_message, name="twilio_messages")
    app.router.add_post(f"{base}/Calls.json", create_call, name="twilio_calls")
    app.router.add_post("/_sandbox/twilio/inbound", inbound, name="sandbox_twilio_inbound")
    app.router.add_post("/_sandbox/twilio/answer", answer, name="sandbox_twilio_answer")
    app.router.add_delete(
        "/_sandbox/twilio/opt-outs", clear_opt_outs, name="sandbox_twilio_optouts"
    )
