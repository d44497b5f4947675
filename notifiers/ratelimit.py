"""The rate limiter of every public endpoint that needs one: how many attempts one client
address, and one destination, may make within a window.

Each caller names a scope: "subscribe" (the subscribe forms: an address or phone number is
the destination; limits in settings.NOTIFIERS), and each key of settings.RATE_LIMITS:
"ping" (the heartbeat ping URLs, by ping key), "agent" (the probe-agent API, by token),
"sms" (confirmation texts: the destination is the whole site, so it is the site's hourly
budget), "push" (device registrations, by installation), "login-link" (one-time sign-in
links, by username) and "member-link" (audience pages' members' sign-in links, by address).
The client address is statuspage.clients' (TRUSTED_PROXIES, IPv6 /64).
Attempts are rows in the database, so a budget holds across processes and restarts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import models, transaction
from django.http import HttpRequest

from statuspage.clients import client_key

SUBSCRIBE = "subscribe"
SMS_SCOPE = "sms"
PUSH_SCOPE = "push"
SMS_SITE = "site"  # the "destination" of the site-wide budget of confirmation texts


def client_ip(request: HttpRequest) -> str:
    """The client's address as limits count it (behind TRUSTED_PROXIES; IPv6 by /64)."""
    return client_key(request)


@dataclass(frozen=True)
class Budget:
    """How many attempts one client address, and one destination, may make in a window."""

    per_ip: int
    per_destination: int
    window: timedelta


def budget(scope: str) -> Budget:
    if scope == SUBSCRIBE:
        limits = settings.NOTIFIERS
        return Budget(
            limits["SUBSCRIBE_PER_IP_PER_HOUR"],
            limits["SUBSCRIBE_PER_DESTINATION_PER_HOUR"],
            timedelta(hours=1),
        )
    scoped = settings.RATE_LIMITS[scope]
    return Budget(
        scoped["PER_IP"], scoped["PER_DESTINATION"], timedelta(seconds=scoped["WINDOW_SECONDS"])
    )


class SubscribeAttempt(models.Model):
    """One use of a rate-limited endpoint, kept for its scope's window.

    Named for its first user, the subscribe forms; its table keeps that name, and every
    scope counts here.
    """

    scope = models.CharField(max_length=16, default=SUBSCRIBE)
    ip = models.GenericIPAddressField()
    destination = models.CharField(max_length=500)
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        indexes = [
            models.Index(fields=["scope", "ip", "created_at"], name="attempt_scope_ip"),
            models.Index(fields=["scope", "destination", "created_at"], name="attempt_scope_dest"),
        ]


@dataclass(frozen=True)
class Refusal:
    """Which budget is spent ("ip" or "destination") and the seconds until it frees up."""

    budget: str
    wait: int


def wait_seconds(scope: str, ip: str, destination: str, now: datetime) -> int:
    """0, and the attempt recorded, if both of the scope's budgets allow it; otherwise
    nothing is recorded and the answer is the seconds until they will (a Retry-After)."""
    refused = attempt(scope, ip, destination, now)
    return refused.wait if refused else 0


def attempt(scope: str, ip: str, destination: str, now: datetime) -> Refusal | None:
    """None, and the attempt recorded, if both of the scope's budgets allow it; otherwise
    nothing is recorded and the answer says which budget is spent and for how long."""
    limit = budget(scope)
    recent = SubscribeAttempt.objects.filter(scope=scope, created_at__gt=now - limit.window)
    counts = recent.filter(models.Q(ip=ip) | models.Q(destination=destination)).aggregate(
        ip=models.Count("id", filter=models.Q(ip=ip)),
        destination=models.Count("id", filter=models.Q(destination=destination)),
    )
    for field, value, allowed in (
        ("ip", ip, limit.per_ip),
        ("destination", destination, limit.per_destination),
    ):
        if counts[field] >= allowed:
            # The budget frees up when the attempt that put it over leaves the window.
            over = counts[field] - allowed
            oldest = (
                recent.filter(**{field: value})
                .order_by("created_at")
                .values_list("created_at", flat=True)[over : over + 1]
            )
            free_at = (oldest[0] if oldest else now) + limit.window
            return Refusal(field, max(1, math.ceil((free_at - now).total_seconds())))
    with transaction.atomic():
        SubscribeAttempt.objects.create(scope=scope, ip=ip, destination=destination, created_at=now)
        SubscribeAttempt.objects.filter(scope=scope, created_at__lte=now - limit.window).delete()
    return None


def destination_spent(scope: str, destination: str, now: datetime) -> datetime | None:
    """Since when one destination's budget has been spent (its oldest counted attempt), or
    None while it has room: how staff learn that a site-wide budget ran out."""
    limit = budget(scope)
    recent = SubscribeAttempt.objects.filter(
        scope=scope, destination=destination, created_at__gt=now - limit.window
    ).order_by("-created_at")
    last = list(recent.values_list("created_at", flat=True)[: limit.per_destination])
    return last[0] if len(last) >= limit.per_destination else None
