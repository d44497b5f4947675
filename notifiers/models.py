"""The delivery outbox: announcements and one Delivery row per (announcement, target).

The rows, not the task broker, are the truth of who was told: a send is recorded (claimed,
attempt counted) before the provider is called, and its outcome after. Subscribers (the
people and systems that asked to be told) live in ``notifiers.subscribers``, each provider's
circuit breaker and pacing in ``notifiers.providers``, and the rate limiter of the public
endpoints in ``notifiers.ratelimit``; their models are re-exported here so Django finds them.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import connection, models
from django.db.models.functions import Cast
from django.utils.translation import gettext_lazy as _

from incidents.models import IncidentUpdate
from notifiers.recipients import Recipients
from notifiers.registry import DeliveryError, channel_choices
from notifiers.transactions import outbox_transaction
from statuspage.models import Audience

MAX_ATTEMPTS = 8
BACKOFF_BASE = timedelta(seconds=15)
BACKOFF_CAP = timedelta(minutes=15)
# A delivery claimed longer ago than this is taken to be lost with a crashed worker.
SENDING_LEASE = timedelta(seconds=settings.NOTIFIERS["SENDING_LEASE_SECONDS"])
# A queued send task not finished by then is taken to be lost (the Redis broker is at-most-once).
SEND_QUEUE_LEASE = timedelta(seconds=settings.NOTIFIERS["SEND_QUEUE_LEASE_SECONDS"])


class Announcement(models.Model):
    """One incident update to publish on one channel to one group of recipients."""

    update = models.ForeignKey(
        IncidentUpdate, on_delete=models.CASCADE, related_name="announcements"
    )
    channel = models.CharField(max_length=32, choices=channel_choices)
    recipients = models.CharField(
        max_length=16, choices=Recipients.choices, default=Recipients.APP_USERS
    )
    audience = models.ForeignKey(
        Audience, null=True, blank=True, on_delete=models.CASCADE, related_name="announcements"
    )
    created_at = models.DateTimeField()
    fanned_out_at = models.DateTimeField(null=True, blank=True)
    # Set while a send task for this announcement is queued or running, so the retry sweep
    # queues one task per announcement, not one per tick.
    send_queued_at = models.DateTimeField(null=True, blank=True)
    # Set when a fan-out task is queued, so a lost one is queued again after a lease.
    fan_out_queued_at = models.DateTimeField(null=True, blank=True)
    # The last subscriber id written by fan-out: a continued or restarted fan-out resumes here.
    fan_out_cursor = models.BigIntegerField(default=0)

    class Meta:
        # Two constraints, because NULLs are distinct in a unique index: without the second,
        # two writers (two engines' backup sweeps, two workers' fallbacks) could each create
        # the update's announcement to everyone, and its deliveries' own unique keys, being
        # per announcement, would then let the same subscriber be sent the update twice.
        constraints = [
            models.UniqueConstraint(
                fields=["update", "channel", "recipients", "audience"],
                name="announce_update_once_per_audience",
            ),
            models.UniqueConstraint(
                fields=["update", "channel", "recipients"],
                condition=models.Q(audience__isnull=True),
                name="announce_update_once_to_everyone",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.update} on {self.channel} to {self.audience or 'everyone'}"

    @classmethod
    def mark_send_queued(cls, announcement_id: int, now: datetime) -> bool:
        """Claim the right to queue a send task; False if one is already queued or running."""
        free = models.Q(send_queued_at__isnull=True) | models.Q(
            send_queued_at__lt=now - SEND_QUEUE_LEASE
        )
        return cls.objects.filter(free, id=announcement_id).update(send_queued_at=now) == 1

    @classmethod
    def mark_fan_out_queued(cls, announcement_id: int, now: datetime) -> bool:
        free = models.Q(fan_out_queued_at__isnull=True) | models.Q(
            fan_out_queued_at__lt=now - SEND_QUEUE_LEASE
        )
        return (
            cls.objects.filter(free, id=announcement_id, fanned_out_at__isnull=True).update(
                fan_out_queued_at=now
            )
            == 1
        )

    def progress(self) -> dict:
        """Deliveries by state and when the last pending one is due: the console's ETA."""
        counts = dict(
            self.deliveries.values_list("state").annotate(n=models.Count("id")).order_by()
        )
        eta = self.deliveries.filter(state=DeliveryState.PENDING).aggregate(
            eta=models.Max("next_attempt_at")
        )["eta"]
        return {
            "counts": {state: counts.get(state, 0) for state in DeliveryState.values},
            "eta": eta,
        }


class DeliveryOutcome:
    """How a send's outcome changes a delivery: shared by the model and the light rows a
    send task claims (ClaimedDelivery), which save_outcomes writes back."""

    # What the methods read and write: Delivery's fields, ClaimedDelivery's slots.
    state: str
    provider_message_id: str
    sent_at: datetime | None
    last_error: str
    claim_token: uuid.UUID | None
    attempts: int
    permanent_error: bool
    next_attempt_at: datetime | None

    if not TYPE_CHECKING:
        # Empty, so that ClaimedDelivery has no __dict__. Hidden from mypy, which would check
        # the assignments below against it instead of against the subclasses' attributes.
        __slots__ = ()

    def record_sent(self, provider_id: str, now: datetime) -> None:
        self.state = DeliveryState.SENT
        self.provider_message_id = provider_id[:200]
        self.sent_at = now
        self.last_error = ""
        self.claim_token = None

    def record_failure(self, error: DeliveryError, now: datetime) -> None:
        """Schedule a retry with backoff, or give up if the error is permanent or attempts ran
        out."""
        self.last_error = str(error)[:500]
        self.claim_token = None
        if error.permanent or self.attempts >= MAX_ATTEMPTS:
            self.state = DeliveryState.FAILED
            self.permanent_error = error.permanent
            return
        self.state = DeliveryState.PENDING
        self.next_attempt_at = now + self.retry_delay(error.retry_after)

    def retry_delay(self, retry_after: float | None) -> timedelta:
        backoff = min(BACKOFF_BASE * 2 ** max(self.attempts - 1, 0), BACKOFF_CAP)
        jittered = backoff * random.uniform(0.5, 1.0)
        if retry_after is not None:
            return max(jittered, timedelta(seconds=retry_after))
        return jittered


@dataclass(slots=True)
class ClaimedSubscriber:
    """What channels read of a claimed delivery's subscriber."""

    id: int
    public_id: str
    channel: str
    address: str
    locale: str
    signing_secret: str
    webhook_format: str
    fallback_id: int | None


@dataclass(slots=True, eq=False)
class ClaimedDelivery(DeliveryOutcome):
    """A delivery this worker claimed, as plain values: a batch of a thousand loads in a
    few milliseconds, where model instances (with their subscribers) took tens.
    `next_attempt_at` is None unless an outcome sets it (a retry): a sent row keeps its own."""

    id: int
    channel: str
    target: str
    subscriber_id: int | None
    attempts: int
    claim_token: uuid.UUID | None
    subscriber: ClaimedSubscriber | None
    next_attempt_at: datetime | None = None
    state: str = "sending"
    sent_at: datetime | None = None
    provider_message_id: str = ""
    last_error: str = ""
    permanent_error: bool = False
    segments: int = 0


class DeliveryState(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    SUPERSEDED = "superseded", _("Superseded")


class BackupReason(models.TextChoices):
    """Why a delivery went to a subscriber's backup contact; empty for every other row."""

    FIRST_FAILED = "first_failed", _("Sent on backup: the first channel failed permanently")
    PROVIDER_DOWN = "provider_down", _("Sent on backup: the first channel's provider was down")


DELIVERY_COLUMNS = ("id", "channel", "target", "subscriber_id", "attempts")
# The public id is read as text (a UUID object per row was the claim's largest cost on SQLite).
SUBSCRIBER_COLUMNS: tuple[Cast | str, ...] = (
    Cast("subscriber__public_id", models.CharField()),
    *(
        f"subscriber__{f}"
        for f in ("channel", "address", "locale", "signing_secret", "webhook_format", "fallback_id")
    ),
)


def uuid_text(value: str) -> str:
    """A UUID read as text in its canonical form (SQLite stores 32 hex digits, no dashes)."""
    if len(value) == 32:
        return f"{value[:8]}-{value[8:12]}-{value[12:16]}-{value[16:20]}-{value[20:]}"
    return value


def claimed_row(row: tuple, token: uuid.UUID) -> ClaimedDelivery:
    """A values row (DELIVERY_COLUMNS then SUBSCRIBER_COLUMNS) as a delivery claimed with
    `token`; the columns are in the dataclasses' field order, so they are passed
    positionally. Only columns that differ from row to row are read."""
    split = len(DELIVERY_COLUMNS)
    delivery_id, channel, target, subscriber_id, attempts = row[:split]
    subscriber = (  # none, or deleted (by staff) while its row was being written
        ClaimedSubscriber(subscriber_id, uuid_text(row[split]), *row[split + 1 :])
        if subscriber_id is not None and row[split] is not None
        else None
    )
    return ClaimedDelivery(delivery_id, channel, target, subscriber_id, attempts, token, subscriber)


class DeliveryQuerySet(models.QuerySet["Delivery"]):
    def due(self, now: datetime) -> DeliveryQuerySet:
        return self.filter(state=DeliveryState.PENDING, next_attempt_at__lte=now)

    def in_flight(self, token: uuid.UUID) -> DeliveryQuerySet:
        """The rows one claim took, by its token alone (the in-flight index): with the
        announcement beside it, SQLite may walk the announcement's rows by its unique
        index instead."""
        return Delivery.objects.filter(state=DeliveryState.SENDING, claim_token=token)

    def claim(self, ids, now: datetime) -> list[ClaimedDelivery]:
        """Take pending rows for this worker alone; a row another worker claimed is skipped.

        `ids`: a list, or a subquery that itself picks (and on PostgreSQL locks) pending
        rows (claim_due). A subquery runs in the UPDATE's own statement, so nothing claims
        its rows in between, and it alone filters: given `state = pending` (or this
        queryset's announcement) as well, the database walks every such row by that index
        instead of looking up the batch's ids."""
        token = uuid.uuid4()
        if isinstance(ids, models.QuerySet):
            chosen = Delivery.objects.filter(id__in=ids)
        else:
            chosen = self.filter(id__in=ids, state=DeliveryState.PENDING)
        chosen.update(
            state=DeliveryState.SENDING,
            claim_token=token,
            attempts=models.F("attempts") + 1,
            last_attempt_at=now,
        )
        # No ORDER BY: asked for id order, SQLite walks the whole table in rowid order
        # instead of the (announcement, state) index, a full scan per batch.
        rows = self.in_flight(token).order_by().values_list(*DELIVERY_COLUMNS, *SUBSCRIBER_COLUMNS)
        return [claimed_row(row, token) for row in sorted(rows)]

    def claim_due(self, now: datetime, limit: int) -> list[ClaimedDelivery]:
        """Claim up to ``limit`` due rows, the longest due first, in one UPDATE whose
        subquery picks them. On PostgreSQL rows another worker is claiming are skipped
        (FOR UPDATE SKIP LOCKED) instead of waited for; on SQLite the statement runs alone.

        The order is the due-index's own (next_attempt_at, id), so taking a batch reads
        `limit` index entries, not every pending row of a large announcement."""
        due = self.due(now).order_by("next_attempt_at", "id")
        with outbox_transaction():
            if connection.features.has_select_for_update_skip_locked:
                due = due.select_for_update(skip_locked=True)
            return self.claim(due.values("id")[:limit], now)

    def requeue_stale(self, now: datetime) -> int:
        """Give back rows whose worker died mid-send; they are sent again (at most once more).
        A row whose every attempt ended that way fails with the reason instead of being
        sent again forever (a message that crashes its worker stays "sending" no longer)."""
        stale = self.filter(state=DeliveryState.SENDING, last_attempt_at__lt=now - SENDING_LEASE)
        stale.filter(attempts__gte=MAX_ATTEMPTS).update(
            state=DeliveryState.FAILED,
            claim_token=None,
            last_error=f"the send never finished in {MAX_ATTEMPTS} attempts (its worker died)",
        )
        return stale.update(state=DeliveryState.PENDING, next_attempt_at=now, claim_token=None)


PENDING = models.Q(state=DeliveryState.PENDING)
IN_FLIGHT = models.Q(state=DeliveryState.SENDING)


class Delivery(DeliveryOutcome, models.Model):
    # None for a confirmation (opt-in link, SMS code, webhook ping): see
    # notifiers.delivery.confirmations.
    # Neither foreign key has an index of its own (see Meta.constraints). Every index
    # costs each fan-out insert and, on PostgreSQL, each of the two updates (claimed,
    # then sent) every delivery goes through.
    # Nor a database constraint: checking both for each inserted row cost more than
    # inserting it (PostgreSQL: 19 against 9 µs a row). Django still cascades and nulls
    # on delete; what a delete racing a fan-out can leave behind is handled where it is
    # read (dispatch.fan_out stops, dispatch.retry_due removes, claimed_row tolerates).
    announcement = models.ForeignKey(
        Announcement,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="deliveries",
        db_index=False,
        db_constraint=False,
    )
    channel = models.CharField(max_length=32, choices=channel_choices)
    target = models.CharField(max_length=300)
    subscriber = models.ForeignKey(
        "notifiers.Subscriber",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="deliveries",
        db_index=False,
        db_constraint=False,
    )
    state = models.CharField(
        max_length=12, choices=DeliveryState.choices, default=DeliveryState.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    claim_token = models.UUIDField(null=True, blank=True)
    next_attempt_at = models.DateTimeField()
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    provider_message_id = models.CharField(max_length=200, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    permanent_error = models.BooleanField(default=False)
    # SMS only: how many segments the provider billed (cost is per segment).
    segments = models.PositiveSmallIntegerField(default=0)
    # The provider's latest word on the message (delivered, undelivered, bounce...).
    provider_status = models.CharField(max_length=32, blank=True)
    # A delivery to a subscriber's backup contact: why it was sent there.
    backup_reason = models.CharField(
        max_length=16, choices=BackupReason.choices, blank=True, default=""
    )
    # Confirmations only: what the pending request chose (components, language); null
    # elsewhere, so set-based inserts of update deliveries need not name it.
    context = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField()

    objects = DeliveryQuerySet.as_manager()

    class Meta:
        # Once per subscriber (two integers), and once per address only for rows without
        # a subscriber (topics, on-call staff): a subscriber's address is unique on its
        # channel, so the text index need not hold (nor check, on every write of the row)
        # the subscriber rows, nearly all of the outbox. The first also serves lookups by
        # announcement; a subscriber (deleted only in the admin) has no index of its own.
        constraints = [
            models.UniqueConstraint(
                fields=["announcement", "subscriber"], name="deliver_once_per_subscriber"
            ),
            models.UniqueConstraint(
                fields=["announcement", "target"],
                condition=models.Q(subscriber__isnull=True),
                name="deliver_once_to_address",
            ),
        ]
        # Partial: the outbox keeps every delivery ever sent, but only the pending rows are
        # looked for by due time and only those in flight by claim token. A row leaving
        # those states is then written to three indexes instead of five (PostgreSQL
        # writes a new entry in every index a changed row still belongs to), and these
        # indexes stay the size of the backlog, not of the history.
        indexes = [
            models.Index(fields=["next_attempt_at"], name="delivery_due", condition=PENDING),
            models.Index(
                fields=["announcement", "next_attempt_at", "id"],
                name="delivery_due_in_order",
                condition=PENDING,
            ),
            models.Index(fields=["claim_token"], name="delivery_in_flight", condition=IN_FLIGHT),
        ]

    def __str__(self) -> str:
        """No subscriber's address: this is what lists, titles and logs show."""
        to = f"subscriber {self.subscriber_id}" if self.subscriber_id else self.target
        return f"{self.channel} #{self.id} to {to}: {self.state}"


class TaskQueueBeat(models.Model):
    """The task cluster's pulse, one row per queue: when a worker last finished a task,
    and whether staff were paged about a stall. Workers stamp it (at most every few
    seconds each); the engine, the watchdog and the supervisor read it beside the broker."""

    name = models.CharField(primary_key=True, max_length=100)
    last_finished_at = models.DateTimeField(null=True, blank=True)
    # Set by the one process whose conditional UPDATE found it empty: one page per stall.
    alarm_raised_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"task queue {self.name}"

    @classmethod
    def stamp_finished(cls, name: str, now: datetime) -> None:
        if not cls.objects.filter(name=name).update(last_finished_at=now):
            cls.objects.get_or_create(name=name, defaults={"last_finished_at": now})

    @classmethod
    def raise_alarm(cls, name: str, now: datetime) -> bool:
        """True for the one caller that raised the alarm of this stall."""
        cls.objects.get_or_create(name=name)
        return (
            cls.objects.filter(name=name, alarm_raised_at__isnull=True).update(alarm_raised_at=now)
            == 1
        )

    @classmethod
    def clear_alarm(cls, name: str) -> bool:
        """True for the one caller that cleared a raised alarm (and says the queue moves)."""
        return (
            cls.objects.filter(name=name, alarm_raised_at__isnull=False).update(
                alarm_raised_at=None
            )
            == 1
        )


from notifiers.providers import ProviderState  # noqa: E402
from notifiers.ratelimit import SubscribeAttempt  # noqa: E402
from notifiers.replays import SeenProviderEvent  # noqa: E402
from notifiers.social import SocialAccount  # noqa: E402
from notifiers.subscribers import Subscriber, SubscriberQuerySet  # noqa: E402

__all__ = [
    "BackupReason",
    "TaskQueueBeat",
    "Announcement",
    "Delivery",
    "DeliveryState",
    "ProviderState",
    "Recipients",
    "SocialAccount",
    "SubscribeAttempt",
    "SeenProviderEvent",
    "Subscriber",
    "SubscriberQuerySet",
]
