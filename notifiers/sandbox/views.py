"""The sandbox's own routes: recorded messages, fault control, health and the "phones" page."""

from __future__ import annotations

import json
from html import escape
from typing import Any

from aiohttp import web

from notifiers.sandbox.faults import FAULTS_KEY, FaultProfile
from notifiers.sandbox.recorder import RECORDER_KEY, Record

REFRESH_SECONDS = 3
MAX_PHONES = 48
MAX_NOTES_PER_PHONE = 20

PAGE_STYLE = """
body { font: 15px/1.4 system-ui, sans-serif; margin: 1.5rem; background: #f3f4f6; color: #111 }
h1 { font-size: 1.4rem; margin: 0 0 .25rem }
.hint { color: #555; margin: 0 0 1.25rem }
.phones { display: flex; flex-wrap: wrap; gap: 1rem; align-items: flex-start }
.phone { width: 19rem; background: #111; border-radius: 1.5rem; padding: .9rem .6rem }
.phone h2 { color: #eee; font-size: .85rem; margin: 0 .4rem .6rem; word-break: break-all }
.phone h2 small { display: block; color: #9ca3af; font-weight: normal }
.note { background: #fff; border-radius: .75rem; padding: .5rem .7rem; margin-bottom: .45rem }
.note b { display: block }
.note p { margin: .15rem 0 0; white-space: pre-wrap; word-break: break-word }
.note time { color: #6b7280; font-size: .75rem }
.older { color: #9ca3af; font-size: .8rem; margin: .2rem .4rem 0 }
.faults { background: #fee2e2; border: 1px solid #fca5a5; border-radius: .5rem; padding: .5rem 1rem; margin: 0 0 1rem }
.faults h2 { font-size: 1rem; margin: 0 0 .25rem }
.faults ul { margin: 0; padding-left: 1.2rem }
"""


async def list_messages(request: web.Request) -> web.Response:
    records = request.app[RECORDER_KEY].list(
        provider=request.query.get("provider"), target=request.query.get("target")
    )
    return web.json_response(records)


async def by_target(request: web.Request) -> web.Response:
    provider = request.query.get("provider")
    if not provider:
        return web.json_response({"error": "Name a provider: ?provider=twilio"}, status=400)
    return web.json_response(
        request.app[RECORDER_KEY].by_target(provider, request.query.get("kind"))
    )


async def clear_messages(request: web.Request) -> web.Response:
    request.app[RECORDER_KEY].clear(provider=request.query.get("provider"))
    return web.json_response({"cleared": True})


async def get_faults(request: web.Request) -> web.Response:
    return web.json_response(request.app[FAULTS_KEY].snapshot())


async def set_faults(request: web.Request) -> web.Response:
    """``POST {"provider": "fcm", "outage": true, ...}``: replace that provider's profile."""
    try:
        data = await request.json()
        provider, profile = _parse_fault_request(data)
    except ValueError as error:
        return web.json_response({"error": str(error)}, status=400)
    faults = request.app[FAULTS_KEY]
    faults.set(provider, profile)
    return web.json_response(faults.snapshot())


async def clear_faults(request: web.Request) -> web.Response:
    faults = request.app[FAULTS_KEY]
    faults.clear(provider=request.query.get("provider"))
    return web.json_response(faults.snapshot())


async def counts(request: web.Request) -> web.Response:
    return web.json_response(request.app[RECORDER_KEY].counts())


async def health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def index(request: web.Request) -> web.Response:
    faults = request.app[FAULTS_KEY].snapshot()["profiles"]
    page = render_page(request.app[RECORDER_KEY].list(), faults)
    return web.Response(text=page, content_type="text/html")


def _parse_fault_request(data: Any) -> tuple[str, FaultProfile]:
    if not isinstance(data, dict):
        raise ValueError("expected a JSON object")
    settings = dict(data)
    provider = settings.pop("provider", None)
    if not isinstance(provider, str) or not provider:
        raise ValueError('"provider" is required (a provider name, or "*" for all)')
    return provider, FaultProfile.from_json(settings)


def render_page(records: list[Record], faults: dict[str, dict] | None = None) -> str:
    """The faults in force, then one "phone" per (provider, target), most recently active
    first, newest message on top.

    Capped so a benchmark's thousands of messages still give a page a browser can refresh.
    """
    phones = _group_by_device(records)
    body = "".join(_render_phone(key, notes) for key, notes in phones[:MAX_PHONES])
    hidden = len(phones) - MAX_PHONES
    if hidden > 0:
        body += f'<p class="hint">and {hidden} more device(s), topic(s) or inbox(es)</p>'
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f'<meta http-equiv="refresh" content="{REFRESH_SECONDS}">'
        "<title>Provider sandbox</title>"
        f"<style>{PAGE_STYLE}</style></head><body>"
        "<h1>Provider sandbox</h1>"
        f'<p class="hint">What each device, topic or inbox received. '
        f"Refreshes every {REFRESH_SECONDS} s. {len(records)} message(s).</p>"
        f"{_render_faults(faults or {})}"
        f'<div class="phones">{body or "<p>Nothing received yet.</p>"}</div></body></html>'
    )


def _render_faults(profiles: dict[str, dict]) -> str:
    """What is being injected now, per provider, and until when ("*" is every provider)."""
    if not profiles:
        return ""
    items = "".join(
        f"<li><b>{escape(name)}</b>: {escape(_describe_fault(profile))}</li>"
        for name, profile in sorted(profiles.items())
    )
    return f'<section class="faults"><h2>Faults injected</h2><ul>{items}</ul></section>'


def _describe_fault(profile: dict) -> str:
    parts = []
    if profile["outage"]:
        parts.append(
            "outage"
            + (
                " (connections dropped)"
                if profile["disconnect"]
                else f" ({profile['error_status']})"
            )
        )
    if profile["fail_next"]:
        parts.append(f"next {profile['fail_next']} request(s) fail ({profile['error_status']})")
    if profile["error_rate"]:
        parts.append(f"{profile['error_rate']:.0%} of requests fail ({profile['error_status']})")
    if profile["retry_after"] is not None:
        parts.append(f"Retry-After {profile['retry_after']} s")
    if profile["latency_ms"]:
        parts.append(f"{profile['latency_ms']} ms latency")
    when = f"until {profile['ends_at'][11:19]} UTC" if profile["ends_at"] else "until cleared"
    if not profile["active"]:
        when = f"from {profile['starts_at'][11:19]} UTC, {when}"
    return f"{', '.join(parts) or 'no fault'}; {when}"


def _group_by_device(records: list[Record]) -> list[tuple[tuple[str, str], list[Record]]]:
    phones: dict[tuple[str, str], list[Record]] = {}
    for record in reversed(records):
        phones.setdefault((record["provider"], record["target"]), []).append(record)
    return list(phones.items())


def _render_phone(key: tuple[str, str], notes: list[Record]) -> str:
    provider, target = key
    items = "".join(_render_note(note) for note in notes[:MAX_NOTES_PER_PHONE])
    older = len(notes) - MAX_NOTES_PER_PHONE
    if older > 0:
        items += f'<p class="older">+ {older} older</p>'
    return (
        f'<section class="phone"><h2>{escape(target)}<small>{escape(provider)}</small></h2>'
        f"{items}</section>"
    )


def _render_note(record: Record) -> str:
    preview = record["preview"]
    title = preview["title"] or record["kind"]
    body = preview["body"] or json.dumps(record["payload"], ensure_ascii=False)[:300]
    return (
        f'<article class="note"><time datetime="{escape(record["received_at"])}">'
        f"{escape(record['received_at'][11:19])} UTC</time>"
        f"<b>{escape(title)}</b><p>{escape(body)}</p></article>"
    )


def register(app: web.Application) -> None:
    app.router.add_get("/", index, name="sandbox_index")
    app.router.add_get("/_sandbox/health", health, name="sandbox_health")
    app.router.add_get("/_sandbox/counts", counts, name="sandbox_counts")
    app.router.add_get("/_sandbox/messages", list_messages, name="sandbox_messages")
    app.router.add_get("/_sandbox/targets", by_target, name="sandbox_targets")
    app.router.add_delete("/_sandbox/messages", clear_messages, name="sandbox_clear_messages")
    app.router.add_get("/_sandbox/faults", get_faults, name="sandbox_faults")
    app.router.add_post("/_sandbox/faults", set_faults, name="sandbox_set_faults")
    app.router.add_delete("/_sandbox/faults", clear_faults, name="sandbox_clear_faults")
