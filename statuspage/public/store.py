"""The answer store: each public answer rendered once per change of the picture, not once
per reader.

A stored view (`stored`) answers from the store (Django's "answers" cache: Redis, or files
every worker on the machine shares) without a database query when its entry was rendered at
the picture's current version (statuspage.changes) and is still fresh (`REFRESH_SECONDS`, and
for banner.json half-way to its `valid_until`); a matching If-None-Match is a 304 from the
stored ETag. Otherwise one worker renders it live (single-flight: the others wait for it
briefly, or serve the entry they have when only the timer moved) and stores it. When the
database is unreachable, the last stored answer is served (banner.json only until its
`valid_until`), or the kind's own "status unknown" answer: never an HTML 500.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from django.conf import settings
from django.db import Error as DatabaseError
from django.http import HttpRequest, HttpResponse
from django.utils import translation
from django.utils.cache import get_conditional_response
from django.utils.http import parse_http_date_safe, quote_etag

from statuspage import clock, viewer
from statuspage.changes import VERSION_KEY, current_version, store
from statuspage.instruments import PUBLIC_ANSWERS

log = logging.getLogger(__name__)

LOCK_SECONDS = 10
WAIT_SECONDS = 2.0
POLL_SECONDS = 0.02
# Kept this long in the store after its freshness, as the last resort while the database is
# unreachable (a Redis or file entry then expires by itself).
KEEP_SECONDS = 24 * 3600
CONDITIONAL_HEADERS = ("HTTP_IF_NONE_MATCH", "HTTP_IF_MODIFIED_SINCE")
# Set by the housekeeping refresh (statuspage.public.prewarm) on its own requests (a WSGI
# environ key no client can send): renew an entry past the first half of its freshness.
RENEW = "statuspage.answers.renew"

# Part of every key: a release that changes `Entry` moves it, so it never reads old pickles.
ENTRY_FORMAT = 1

# Live renders per kind in this process: what the store saves is visible (tests, benchmark).
RENDERS: Counter[str] = Counter()


@dataclass
class Entry:
    version: str
    content: bytes
    headers: list[tuple[str, str]]
    rendered_at: float
    fresh_until: float
    # A view may set `fresh_until` and `usable_until` (datetimes) on its response: banner.json
    # is rendered again at its clock's next step and never served past its valid_until, not
    # even while the database is down.
    usable_until: float | None = None

    def fresh(self, version: str, now: float) -> bool:
        """Rendered at this version, and not too long ago (nor "later": a clock set back)."""
        return self.version == version and self.rendered_at <= now < self.fresh_until

    def renewable(self, now: float) -> bool:
        return now >= self.rendered_at + (self.fresh_until - self.rendered_at) / 2

    def usable(self, now: float) -> bool:
        return self.usable_until is None or now < self.usable_until


def enabled() -> bool:
    return settings.ANSWERS["ENABLED"]


def answer_key(
    kind: str, request: HttpRequest, params: Iterable[str], per_language: bool, kwargs: dict
) -> str:
    """What changes the answer, and nothing else (a cache-buster query string is not part of
    it): the kind, the URL's arguments, the named query parameters (normalised) and the
    language when the answer is worded in it."""
    parts = [f"{name}={value}" for name, value in sorted(kwargs.items())]
    for name in params:
        values = request.GET.get(name, "").split(",")
        parts.append(f"{name}=" + ",".join(sorted({v.strip() for v in values if v.strip()})))
    if per_language:
        parts.append(f"lang={translation.get_language()}")
    digest = hashlib.sha256("\n".join(parts).encode()).hexdigest()[:32]
    return f"answer:{ENTRY_FORMAT}:{kind}:{digest}"


def read(key: str) -> tuple[str | None, Entry | None]:
    """The picture's version and the stored entry, or (None, None) when the store is down."""
    try:
        found = store().get_many([VERSION_KEY, key])  # one round trip on Redis (MGET)
        return found.get(VERSION_KEY) or current_version(), found.get(key)
    except Exception:
        log.warning("the answer store is unreachable: answering live", exc_info=True)
        return None, None


def write(key: str, entry: Entry) -> None:
    timeout = max(1, int(entry.fresh_until - time_now()) + KEEP_SECONDS)
    try:
        store().set(key, entry, timeout)
    except Exception:
        log.warning("the answer store is unreachable: answer not stored", exc_info=True)


def time_now() -> float:
    return clock.now().timestamp()


def served(kind: str, how: str, response: HttpResponse) -> HttpResponse:
    if how == "stored" and response.status_code == 304:
        how = "not_modified"
    PUBLIC_ANSWERS.labels(kind, how).inc()
    return response


def replay(request: HttpRequest, entry: Entry) -> HttpResponse:
    """The stored answer, or a 304 when the client already has it: no body is built."""
    response = HttpResponse(entry.content)
    for name, value in entry.headers:
        response[name] = value
    modified = parse_http_date_safe(response.get("Last-Modified", ""))
    answer = get_conditional_response(
        request, etag=response.get("ETag"), last_modified=modified, response=response
    )
    if answer is None:
        return response
    for name, value in entry.headers:
        if name.startswith("Access-Control-"):
            answer[name] = value
    return answer


def render(view: Callable, request: HttpRequest, args: tuple, kwargs: dict) -> HttpResponse:
    """The view's full answer, whatever the client's validators (the store needs the body)."""
    saved = {h: request.META.pop(h) for h in CONDITIONAL_HEADERS if h in request.META}
    try:
        return view(request, *args, **kwargs)
    finally:
        request.META.update(saved)


def storable(request: HttpRequest, response: HttpResponse) -> bool:
    """Only a plain 200 that is the same for every reader: nothing with a cookie."""
    return (
        response.status_code == 200
        and not response.streaming
        and not response.cookies
        and not request.META.get("CSRF_COOKIE_NEEDS_UPDATE")
    )


def entry_for(version: str, response: HttpResponse, started: float) -> Entry:
    if not response.has_header("ETag"):
        response["ETag"] = quote_etag(hashlib.sha256(response.content).hexdigest()[:32])
    fresh_until = started + settings.ANSWERS["REFRESH_SECONDS"]
    if getattr(response, "fresh_until", None) is not None:
        fresh_until = min(fresh_until, response.fresh_until.timestamp())  # type: ignore[attr-defined]
    usable_until = getattr(response, "usable_until", None)
    if usable_until is not None:
        usable_until = usable_until.timestamp()
        # Half-way to valid_until at most: an app polling now still gets a long validity.
        fresh_until = min(fresh_until, started + (usable_until - started) / 2)
    return Entry(
        version, response.content, list(response.items()), started, fresh_until, usable_until
    )


def wait_for(key: str, version: str) -> Entry | None:
    """Another worker is rendering this version: its entry, if it lands within WAIT_SECONDS."""
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        time.sleep(POLL_SECONDS)
        _, entry = read(key)
        if entry is not None and entry.version == version:
            return entry
    return None


def answer(
    view: Callable,
    request: HttpRequest,
    args: tuple,
    kwargs: dict,
    key: str,
    unreachable: Callable[[HttpRequest], HttpResponse] | None,
    kind: str,
) -> HttpResponse:
    now = time_now()
    version, entry = read(key)
    if version is None:
        return served(kind, "live", view(request, *args, **kwargs))
    if entry is not None and entry.fresh(version, now):
        if not (request.META.get(RENEW) and entry.renewable(now)):
            return served(kind, "stored", replay(request, entry))
    lock = f"{key}:rendering:{version}"
    claimed = claim(lock)
    if not claimed:
        if entry is not None and entry.version == version and entry.usable(now):
            return served(kind, "stored", replay(request, entry))
        waited = wait_for(key, version)
        if waited is not None:
            return served(kind, "stored", replay(request, waited))
    try:
        RENDERS[kind] += 1
        response = render(view, request, args, kwargs)
    except DatabaseError:
        log.warning("database unreachable: %s answers from the store", kind, exc_info=True)
        if entry is not None and entry.usable(now):
            return served(kind, "last_resort", replay(request, entry))
        if unreachable is None:
            raise
        return served(kind, "unavailable", unreachable(request))
    finally:
        if claimed:
            release(lock)
    if not storable(request, response):
        return served(kind, "rendered", response)
    stored = entry_for(version, response, now)
    write(key, stored)
    return served(kind, "rendered", replay(request, stored))


def claim(lock: str) -> bool:
    """This worker renders (single-flight); True too when the store cannot tell."""
    try:
        return bool(store().add(lock, 1, LOCK_SECONDS))
    except Exception:
        return True


def release(lock: str) -> None:
    try:
        store().delete(lock)
    except Exception:
        log.warning("the answer store is unreachable: render lock left to expire")


def stored(
    kind: str,
    params: Iterable[str] = (),
    per_language: bool = True,
    unreachable: Callable[[HttpRequest], HttpResponse] | None = None,
) -> Callable[[Callable], Callable]:
    """Serve `view` from the store. `params`: the query parameters that change its answer;
    `unreachable`: the answer when the database is down and nothing usable is stored."""
    names = tuple(params)

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            # An audience's private answer (statuspage.public.private) is never stored.
            private = viewer.audience() is not None
            if request.method not in ("GET", "HEAD") or not enabled() or private:
                return view(request, *args, **kwargs)
            key = answer_key(kind, request, names, per_language, kwargs)
            return answer(view, request, args, kwargs, key, unreachable, kind)

        return wrapped

    return decorate
