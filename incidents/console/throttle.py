"""One limiter for every password login: the console's, the admin's, any other.

It sits in front of Django's own authentication: `ThrottleBackend` is the first of
AUTHENTICATION_BACKENDS, so every `authenticate()` with a request passes it whatever view
called. Failures are counted per (username, client) and per client (statuspage.clients: the
client behind TRUSTED_PROXIES, IPv6 by /64) in the shared "limits" cache, and, with a far
larger allowance, per username from anywhere. Past a few free
failures each one doubles the wait before the next try is even checked, up to a cap:
guessing slows to a crawl while the owner, from their own address, is never locked out by
someone else's guesses. `LoginThrottleMiddleware` answers a try made during the wait with
429, Retry-After and the way in that still works: a one-time link by email.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.core.cache import caches
from django.core.exceptions import PermissionDenied
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from statuspage import clock
from statuspage.clients import LOGIN_THROTTLED as THROTTLED
from statuspage.clients import client_key


@dataclass(frozen=True)
class Counter:
    """One failure counter: its cache key and how many failures are free of delay."""

    key: str
    free: int


def counters(request: HttpRequest, username: str) -> list[Counter]:
    limits = settings.LOGIN_THROTTLE
    client = client_key(request)
    user = hashlib.sha256(username.strip().lower().encode()).hexdigest()[:32]
    return [
        Counter(f"login:user-client:{user}:{client}", limits["FREE_PER_USER_CLIENT"]),
        Counter(f"login:client:{client}", limits["FREE_PER_CLIENT"]),
        # Many clients guessing one password (a botnet): slowed too, far later; the owner
        # then still has the emailed link.
        Counter(f"login:user:{user}", limits["FREE_PER_USER"]),
    ]


def delay_after(failures: int, free: int) -> int:
    """Seconds to wait after this many failures: none while free, then doubling to the cap."""
    if failures <= free:
        return 0
    limits = settings.LOGIN_THROTTLE
    return min(
        limits["MAX_DELAY_SECONDS"], limits["FIRST_DELAY_SECONDS"] * 2 ** (failures - free - 1)
    )


def wait_seconds(request: HttpRequest, username: str) -> int:
    """How long this client must still wait before its next try for this username."""
    cache = caches[settings.LIMITS_CACHE]
    now = clock.now().timestamp()
    until = cache.get_many([f"{c.key}:until" for c in counters(request, username)]).values()
    return max([0, *(math.ceil(t - now) for t in until)])


def count_failure(request: HttpRequest, username: str) -> None:
    cache = caches[settings.LIMITS_CACHE]
    forget = settings.LOGIN_THROTTLE["FORGET_AFTER_SECONDS"]
    now = clock.now().timestamp()
    for counter in counters(request, username):
        cache.add(counter.key, 0, forget)
        try:
            failures = cache.incr(counter.key)
        except ValueError:  # expired between add and incr
            cache.set(counter.key, 1, forget)
            failures = 1
        delay = delay_after(failures, counter.free)
        if delay:
            cache.set(f"{counter.key}:until", now + delay, forget)


def forget_failures(request: HttpRequest, username: str) -> None:
    """A right password clears this username's counter from this client (not the client's)."""
    key = counters(request, username)[0].key
    caches[settings.LIMITS_CACHE].delete_many([key, f"{key}:until"])


class ThrottleBackend:
    """Refuses, without checking the password, a try made while the wait runs; the next
    backend checks every other try. It has no get_user: it never logs anyone in, and
    force_login and sessions take the first backend that has one."""

    def authenticate(self, request: HttpRequest | None, username: str | None = None, **kwargs):
        if request is None or username is None:
            return None
        wait = wait_seconds(request, username)
        if wait:
            setattr(request, THROTTLED, wait)
            raise PermissionDenied
        return None


@receiver(user_login_failed)
def on_failure(sender, credentials: dict, request: HttpRequest | None = None, **kwargs) -> None:
    if request is None or vars(request).get(THROTTLED, 0):
        return  # a refused try is not a guess: the password was never checked
    count_failure(request, credentials.get("username") or "")


@receiver(user_logged_in)
def on_login(sender, request: HttpRequest | None, user, **kwargs) -> None:
    if request is not None:
        forget_failures(request, user.get_username())


def throttled_response(request: HttpRequest, wait: int) -> HttpResponse:
    context = {"wait_minutes": max(1, math.ceil(wait / 60))}
    response = render(request, "incidents/login_throttled.html", context, status=429)
    response["Retry-After"] = str(wait)
    return response


class LoginThrottleMiddleware:
    """Whatever login view was used, a try refused by the limiter is answered 429."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        wait = vars(request).get(THROTTLED, 0)
        if wait and not getattr(response, "login_throttled", False):
            return throttled_response(request, wait)
        return response
