"""Subscribers, and what each provider is allowed to do right now (circuit breaker, pacing).

A subscriber is one confirmed contact on one channel (an inbox, a phone, a webhook URL, an
app install's push token) with the components it follows, its locale and its suppression
state. Nobody is sent anything before confirming, and a suppressed contact (STOP, bounce,
spam report, unsubscribe, token gone) is never sent anything until it opts in again.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import models, transaction
from django.utils.translation import gettext_lazy as _

from statuspage.models import Component

CONFIRMATION_CODE_DIGITS = 6
CONFIRMATION_CODE_TTL = timedelta(minutes=15)
MAX_CODE_TRIES = 5


class SubscriberChannel(models.TextChoices):
    EMAIL = "email", _("Email")
    SMS = "sms", _("SMS")
    WEBHOOK = "webhook", _("Webhook")
    PUSH = "push", _("Push (an app install)")


class Suppression(models.TextChoices):
    UNSUBSCRIBED = "unsubscribed", _("Unsubscribed")
    STOP = "stop", _("Replied STOP")
    BOUNCE = "bounce", _("Bounced")
    SPAM = "spam", _("Reported as spam")
    DROPPED = "dropped", _("Dropped by the provider")
    INVALID = "invalid", _("Not a valid address")
    UNREGISTERED = "unregistered", _("App uninstalled (token unregistered)")


class WebhookFormat(models.TextChoices):
    STATUSPAGE = "statuspage", _("JSON (Statuspage-compatible, signed)")
    SLACK = "slack", _("Slack incoming webhook")
    TEAMS = "teams", _("Microsoft Teams (Adaptive Card)")


class SubscriberQuerySet(models.QuerySet):
    def active(self) -> SubscriberQuerySet:
        return self.filter(confirmed_at__isnull=False, suppressed_at__isnull=True)

    def following(self, component_ids: list[int]) -> SubscriberQuerySet:
        """Those who follow any of these components, or everything (no components chosen).

        An EXISTS, not a join: a join needs DISTINCT, and then a keyset chunk (`id > after
        ORDER BY id LIMIT n`) makes the database de-duplicate every remaining row first, so
        fanning out to a million subscribers cost 0.4 s per chunk of 2,000.
        """
        chosen = Subscriber.components.through.objects.filter(
            subscriber_id=models.OuterRef("id"), component_id__in=component_ids
        )
        return self.filter(models.Q(all_components=True) | models.Exists(chosen))


class Subscriber(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    channel = models.CharField(max_length=16, choices=SubscriberChannel.choices)
    # E.164 for SMS, lower-cased for email, the URL for webhooks, the token for push.
    address = models.CharField(max_length=500)
    # The language messages are written in: a code of settings.LANGUAGES, chosen on subscribe.
    locale = models.CharField(max_length=16, default="en")
    all_components = models.BooleanField(default=True)
    components = models.ManyToManyField(Component, blank=True, related_name="subscribers")
    # The same person's other contact, tried when this one fails permanently.
    fallback = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    confirmed_at = models.DateTimeField(null=True, blank=True)
    code_digest = models.CharField(max_length=64, blank=True)
    code_sent_at = models.DateTimeField(null=True, blank=True)
    code_tries = models.PositiveSmallIntegerField(default=0)
    suppressed_at = models.DateTimeField(null=True, blank=True)
    suppression = models.CharField(max_length=16, choices=Suppression.choices, blank=True)
    # Webhooks: the key that signs what we POST, shown once to the subscriber.
    signing_secret = models.CharField(max_length=64, blank=True)
    webhook_format = models.CharField(
        max_length=16, choices=WebhookFormat.choices, default=WebhookFormat.STATUSPAGE
    )
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    objects = SubscriberQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["channel", "address"], name="subscriber_once"),
        ]
        indexes = [
            models.Index(fields=["channel", "confirmed_at", "suppressed_at"]),
            # Fan-out reads a channel's subscribers by keyset (id > cursor ORDER BY id LIMIT n).
            models.Index(fields=["channel", "id"], name="subscriber_channel_keyset"),
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} {self.address}"

    @property
    def is_active(self) -> bool:
        return self.confirmed_at is not None and self.suppressed_at is None

    def confirm(self, now: datetime) -> None:
        self.confirmed_at = self.confirmed_at or now
        self.code_digest = ""
        self.updated_at = now

    def suppress(self, reason: str, now: datetime) -> None:
        """Stop sending here. The first reason is kept: a later bounce does not hide a STOP."""
        if self.suppressed_at is None:
            self.suppressed_at = now
            self.suppression = reason
        self.updated_at = now

    def resume(self, now: datetime) -> None:
        """Opt back in (SMS START): only a suppression the subscriber chose can be undone."""
        if self.suppression in (Suppression.STOP, Suppression.UNSUBSCRIBED):
            self.suppressed_at = None
            self.suppression = ""
        self.updated_at = now

    def new_code(self, now: datetime) -> str:
        """A fresh numeric confirmation code; only its keyed digest is stored."""
        code = "".join(secrets.choice("0123456789") for _ in range(CONFIRMATION_CODE_DIGITS))
        self.code_digest = self.digest(code)
        self.code_sent_at = now
        self.code_tries = 0
        return code

    def check_code(self, code: str, now: datetime) -> bool:
        """Whether the code is right; wrong tries are counted and capped."""
        if not self.code_digest or self.code_sent_at is None:
            return False
        if now - self.code_sent_at > CONFIRMATION_CODE_TTL or self.code_tries >= MAX_CODE_TRIES:
            return False
        self.code_tries += 1
        return hmac.compare_digest(self.code_digest, self.digest(code.strip()))

    def digest(self, code: str) -> str:
        key = f"{settings.SECRET_KEY}:{self.public_id}".encode()
        return hmac.new(key, code.encode(), hashlib.sha256).hexdigest()

    def follows_ids(self) -> list[int]:
        return [] if self.all_components else list(self.components.values_list("id", flat=True))


class ProviderState(models.Model):
    """Shared by every worker: a provider's circuit breaker and its send pacing.

    The breaker opens after BREAKER_THRESHOLD batches in a row failed transiently and stays
    open BREAKER_COOLDOWN; while open, due deliveries are pushed back without an attempt.
    ``next_slot_at`` is the pacing cursor: SMS rows are given send times one sender-slot
    apart, so the provider's throughput limit is respected across announcements.
    """

    provider = models.CharField(max_length=32, unique=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    open_until = models.DateTimeField(null=True, blank=True)
    next_slot_at = models.DateTimeField(null=True, blank=True)

    BREAKER_THRESHOLD = 5
    BREAKER_COOLDOWN = timedelta(seconds=60)

    def __str__(self) -> str:
        return self.provider

    @classmethod
    def open_until_for(cls, provider: str, now: datetime) -> datetime | None:
        until = cls.objects.filter(provider=provider).values_list("open_until", flat=True).first()
        return until if until and until > now else None

    @classmethod
    def record_batch(cls, provider: str, all_failed_transiently: bool, now: datetime) -> None:
        """Count a batch towards the breaker. A batch that went through only reads the row
        unless it has something to reset: every batch of every worker writing the one
        shared row would queue them all on its lock."""
        if not all_failed_transiently:
            unhealthy = cls.objects.filter(provider=provider).exclude(
                consecutive_failures=0, open_until__isnull=True
            )
            if unhealthy.exists():
                unhealthy.update(consecutive_failures=0, open_until=None)
            return
        state, _ = cls.objects.get_or_create(provider=provider)
        cls.objects.filter(id=state.id).update(
            consecutive_failures=models.F("consecutive_failures") + 1
        )
        state.refresh_from_db()
        if state.consecutive_failures >= cls.BREAKER_THRESHOLD:
            cls.objects.filter(id=state.id).update(open_until=now + cls.BREAKER_COOLDOWN)

    @classmethod
    def reserve_slots(cls, provider: str, count: int, per_second: float, now: datetime) -> datetime:
        """Reserve ``count`` consecutive send slots; returns when the first one starts."""
        with transaction.atomic():
            cls.objects.get_or_create(provider=provider)
            state = cls.objects.select_for_update().get(provider=provider)
            start = max(state.next_slot_at or now, now)
            state.next_slot_at = start + timedelta(seconds=count / per_second)
            state.save(update_fields=["next_slot_at"])
        return start


SUBSCRIBE = "subscribe"


def client_ip(request) -> str:
    return request.META.get("REMOTE_ADDR") or "0.0.0.0"


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
    limits = settings.RATE_LIMITS[scope]
    return Budget(
        limits["PER_IP"], limits["PER_DESTINATION"], timedelta(seconds=limits["WINDOW_SECONDS"])
    )


class SubscribeAttempt(models.Model):
    """One use of a rate-limited public endpoint, kept for its budget's window: the
    subscribe forms (scope "subscribe"), and through settings.RATE_LIMITS the heartbeat
    ping URLs ("ping") and the probe-agent API ("agent")."""

    scope = models.CharField(max_length=16, default=SUBSCRIBE)
    ip = models.GenericIPAddressField()
    destination = models.CharField(max_length=500)
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        indexes = [
            models.Index(fields=["scope", "ip", "created_at"], name="attempt_scope_ip"),
            models.Index(fields=["scope", "destination", "created_at"], name="attempt_scope_dest"),
        ]

    @classmethod
    def allowed(cls, ip: str, destination: str, now: datetime) -> bool:
        """Record this subscribe attempt if both the address's and the destination's budgets
        allow it."""
        return cls.wait_seconds(SUBSCRIBE, ip, destination, now) == 0

    @classmethod
    def wait_seconds(cls, scope: str, ip: str, destination: str, now: datetime) -> int:
        """0 and the attempt recorded if both budgets of the scope allow it; otherwise
        nothing recorded and the seconds until they will (a Retry-After)."""
        limit = budget(scope)
        recent = cls.objects.filter(scope=scope, created_at__gt=now - limit.window)
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
                return max(1, math.ceil((free_at - now).total_seconds()))
        with transaction.atomic():
            cls.objects.create(scope=scope, ip=ip, destination=destination, created_at=now)
            cls.objects.filter(scope=scope, created_at__lte=now - limit.window).delete()
        return 0
