"""From an announcement to delivered messages: fan out into the outbox, then send in batches.

Each step runs in a django-q2 task enqueued after the transaction that made its input
commits, and each is safe to run twice: deliveries are unique per (announcement, target)
and are claimed with a conditional UPDATE before any provider is called.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timedelta
from itertools import islice
from operator import attrgetter

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, OuterRef, Q
from django_q.tasks import async_task

from notifiers.channels.context import SubscriberTargets
from notifiers.delivery.bulk import column_name, concrete_field, insert_deliveries_for
from notifiers.languages import by_language, is_failure, message_or_error
from notifiers.models import (
    SEND_QUEUE_LEASE,
    Announcement,
    BackupReason,
    ClaimedDelivery,
    Delivery,
    DeliveryState,
    ProviderState,
    Recipients,
    Subscriber,
)
from notifiers.registry import SendResult, Target, TransientError, get_channel
from notifiers.transactions import outbox_transaction
from statuspage import clock, instruments
from statuspage.models import Audience

log = logging.getLogger(__name__)

PUSH = "push"
FAN_OUT_CHUNK = 2000
FAN_OUT_SLICE_SECONDS = 20.0


class FanOutStopped(Exception):
    """This fan-out task may not write its next chunk: the announcement was deleted (with
    its incident), or another task for it (queued again by the sweep) wrote the chunk."""


def enqueue(func: str, *args) -> None:
    """Queue a task once the current transaction commits, passing ids, never objects."""
    transaction.on_commit(lambda: async_task(func, *args, group=func.rsplit(".", 1)[-1]))


def announce(
    update, channel: str, recipients: str, audience: Audience | None, now: datetime
) -> Announcement:
    """Publish an update on a channel to recipients, once: a repeat call changes nothing."""
    announcement, created = Announcement.objects.get_or_create(
        update=update,
        channel=channel,
        recipients=recipients,
        audience=audience,
        defaults={"created_at": now},
    )
    if created and Announcement.mark_fan_out_queued(announcement.id, now):
        enqueue("notifiers.delivery.dispatch.fan_out", announcement.id)
    return announcement


def reopen_fan_out(announcement: Announcement, now: datetime) -> None:
    """Fan the announcement out again from its first subscriber, when who may hear of its
    incident has widened (Incident.private_to): those already written keep their row (a
    chunk that meets one is written again skipping it), the newly allowed get theirs. A
    fan-out still running finds its cursor moved and stops, leaving the rest to this one."""
    Announcement.objects.filter(id=announcement.id).update(
        fanned_out_at=None, fan_out_cursor=0, fan_out_queued_at=now
    )
    enqueue("notifiers.delivery.dispatch.fan_out", announcement.id)


def announce_to_apps(update, audiences: Iterable[Audience], now: datetime) -> list[Announcement]:
    if not update.deliver_notifications:
        return []
    return [announce(update, PUSH, Recipients.APP_USERS, audience, now) for audience in audiences]


def load_announcement(announcement_id: int) -> Announcement | None:
    """The announcement, or None if it was deleted (with its incident) before the task ran."""
    announcement = (
        Announcement.objects.select_related("update__incident", "audience")
        .filter(id=announcement_id)
        .first()
    )
    if announcement is None:
        log.warning("announcement %s no longer exists; nothing to send", announcement_id)
    return announcement


def fan_out(announcement_id: int) -> int:
    """Write one pending delivery per target, in chunks; returns how many rows it has.

    Targets are streamed (a generator over the subscribers table, resumed after the
    announcement's cursor), so memory stays flat whatever the subscriber count. Each chunk
    commits with the cursor and queues a send at once, so sending starts while the rest
    is written. After FAN_OUT_SLICE_SECONDS the task queues its own continuation, staying
    well inside the task timeout; a killed fan-out is queued again by the retry sweep and
    resumes at the cursor. Each chunk moves the cursor on only from where this task found
    it, so two tasks of one announcement (a re-queued one beside a slow one) never write
    the same chunk: the one that finds the cursor moved stops.
    """
    announcement = load_announcement(announcement_id)
    if announcement is None or announcement.fanned_out_at is not None:
        return 0
    channel = get_channel(announcement.channel)
    deadline = time.monotonic() + FAN_OUT_SLICE_SECONDS
    try:
        for _ in write_chunks(announcement, channel):
            if send_or_continue(announcement, deadline):
                return announcement.deliveries.count()
    except FanOutStopped:
        gone = not Announcement.objects.filter(id=announcement.id).exists()
        log.warning(
            "fan-out of announcement %s stopped: %s",
            announcement.id,
            "it was deleted" if gone else "another task wrote its next chunk",
        )
        return 0
    now = clock.now()
    supersede_older(announcement, now)
    with transaction.atomic():
        Announcement.objects.filter(id=announcement.id).update(fanned_out_at=now)
        queue_send(announcement.id, now)
    return announcement.deliveries.count()


def send_or_continue(announcement: Announcement, deadline: float) -> bool:
    """After a chunk: queue a send for it; past the deadline, queue the fan-out's
    continuation and say so (True)."""
    now = clock.now()
    queue_send(announcement.id, now)
    if time.monotonic() <= deadline:
        return False
    Announcement.objects.filter(id=announcement.id).update(fan_out_queued_at=now)
    enqueue("notifiers.delivery.dispatch.fan_out", announcement.id)
    return True


def write_chunks(announcement: Announcement, channel) -> Iterator[None]:
    """Write the announcement's deliveries a chunk at a time, yielding after each commit.

    Subscribers of an unpaced channel are copied by the database (INSERT ... SELECT);
    other targets (topics, on-call staff, paced channels, whose rows each get a send
    slot) are written from Python.
    """
    targets = channel.targets(announcement)
    if isinstance(targets, SubscriberTargets) and not channel.rate():
        for after, last in targets.id_chunks(FAN_OUT_CHUNK):
            write_subscriber_chunk(announcement, targets, after, last)
            yield
        return
    for chunk in chunked(targets, FAN_OUT_CHUNK):
        write_chunk(announcement, channel, chunk, clock.now())
        yield


def write_subscriber_chunk(
    announcement: Announcement, targets: SubscriberTargets, after: int, last: int
) -> None:
    """The deliveries of the subscribers in (after, last], with the cursor moved from
    `after` to `last` in the same transaction. That conditional move makes this task the
    chunk's one writer, so its rows are inserted plainly; should one exist all the same,
    the chunk is written again keeping the rows that exist."""
    for skip_existing in (False, True):
        try:
            with outbox_transaction():
                advance_cursor(announcement, last, expected=after)
                insert_deliveries_for(
                    announcement, targets.between(after, last), clock.now(), skip_existing
                )
            return
        except IntegrityError:
            if skip_existing:
                raise
            log.warning(
                "announcement %s: a delivery of chunk (%s, %s] existed; writing the rest",
                announcement.id,
                after,
                last,
            )


def advance_cursor(announcement: Announcement, cursor: int, expected: int) -> None:
    """Move the fan-out cursor from `expected` (where this task found it) to `cursor`, in
    the chunk's transaction before its rows are written; FanOutStopped if it was moved
    meanwhile or the announcement is gone. This conditional UPDATE makes a task the
    chunk's one writer, and, the deliveries' keys having no database constraint, it is
    what refuses rows for a deleted announcement; its row lock makes a delete wait."""
    moved = Announcement.objects.filter(id=announcement.id, fan_out_cursor=expected)
    if not moved.update(fan_out_cursor=cursor):
        raise FanOutStopped(announcement.id)
    announcement.fan_out_cursor = cursor


def chunked(items: Iterable, size: int) -> Iterator[list]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def as_target(item: str | Target) -> Target:
    return item if isinstance(item, Target) else Target(item)


def write_chunk(announcement: Announcement, channel, chunk: list, now: datetime) -> None:
    """Insert a chunk of deliveries; paced channels get one send slot per row."""
    targets = [as_target(item) for item in chunk]
    times = send_times(channel, len(targets), now)
    rows = [
        Delivery(
            announcement=announcement,
            channel=announcement.channel,
            target=target.address,
            subscriber_id=target.subscriber_id,
            next_attempt_at=at,
            created_at=now,
        )
        for target, at in zip(targets, times, strict=True)
    ]
    cursor = max((t.subscriber_id or 0 for t in targets), default=announcement.fan_out_cursor)
    with outbox_transaction():
        advance_cursor(announcement, cursor, expected=announcement.fan_out_cursor)
        Delivery.objects.bulk_create(rows, ignore_conflicts=True, batch_size=FAN_OUT_CHUNK)


def send_times(channel, count: int, now: datetime) -> list[datetime]:
    rate = channel.rate()
    if not rate:
        return [now] * count
    start = ProviderState.reserve_slots(channel.provider or channel.name, count, rate, now)
    return [start + timedelta(seconds=i / rate) for i in range(count)]


def supersede_older(announcement: Announcement, now: datetime) -> int:
    """Coalescing: unsent deliveries of older updates of the same incident, on the same
    channel to the same recipients, are superseded when this newer update reaches the
    same address (the same subscriber; for a topic or on-call address, the same address).
    Nobody gets a backlog of stale texts, only the latest word.

    The older announcements are found first (a handful of rows), so the UPDATE reads only
    their pending deliveries: filtered through its joins instead, PostgreSQL walked every
    pending delivery of the outbox, 0.85 s after a 33,000-row fan-out."""
    older = list(
        Announcement.objects.filter(
            update__incident_id=announcement.update.incident_id,
            update_id__lt=announcement.update_id,
            channel=announcement.channel,
            recipients=announcement.recipients,
            audience=announcement.audience,
        ).values_list("id", flat=True)
    )
    if not older:
        return 0
    newer = announcement.deliveries.all()
    same_subscriber = Exists(newer.filter(subscriber_id=OuterRef("subscriber_id")))
    same_address = Exists(newer.filter(subscriber__isnull=True, target=OuterRef("target")))
    reached = Q(same_subscriber, subscriber__isnull=False) | Q(
        same_address, subscriber__isnull=True
    )
    return (
        Delivery.objects.filter(announcement_id__in=older, state=DeliveryState.PENDING)
        .filter(reached)
        .update(
            state=DeliveryState.SUPERSEDED,
            claim_token=None,
            last_error=f"superseded by update {announcement.update.public_id}",
        )
    )


def queue_send(announcement_id: int, now: datetime) -> bool:
    if not Announcement.mark_send_queued(announcement_id, now):
        return False
    enqueue("notifiers.delivery.dispatch.send_due", announcement_id)
    return True


def send_due(announcement_id: int) -> int:
    """Send this announcement's due deliveries, batch by batch; returns how many were sent.

    A channel with `concurrent_batches` > 1 keeps that many provider requests in flight
    (in threads that only call the provider) while this thread claims the next batch and
    records the last one's results, so our database work overlaps the provider's time.
    A task keeps its worker at most SEND_SLICE_SECONDS, then queues itself again behind
    the tasks of other announcements and channels, so a long backlog on one channel (a
    slow provider, paced SMS) never holds up another.
    """
    announcement = load_announcement(announcement_id)
    if announcement is None:
        return 0
    channel = get_channel(announcement.channel)
    deadline = time.monotonic() + settings.NOTIFIERS["SEND_SLICE_SECONDS"]
    with ThreadPoolExecutor(max_workers=channel.concurrent_batches) as pool:
        sent, finished = send_in_flight(announcement, channel, pool, deadline)
    if finished:
        Announcement.objects.filter(id=announcement.id).update(send_queued_at=None)
    else:
        Announcement.objects.filter(id=announcement.id).update(send_queued_at=clock.now())
        enqueue("notifiers.delivery.dispatch.send_due", announcement.id)
    return sent


def send_in_flight(announcement: Announcement, channel, pool, deadline: float) -> tuple[int, bool]:
    """Claim, send and record until nothing is due (True) or the slice is over (False).
    Every batch sent is recorded before this returns."""
    in_flight: deque[tuple[list[ClaimedDelivery], Future]] = deque()
    messages: dict[str, object] = {}  # language -> the message rendered in it, once per task
    sent, more = 0, True
    while more or in_flight:
        if more and len(in_flight) < channel.concurrent_batches:
            now = clock.now()
            batch = (
                []
                if postpone_if_circuit_open(announcement, channel, now)
                else (announcement.deliveries.claim_due(now, channel.batch_size))
            )
            if batch:
                groups = []
                for language, group in by_language(batch):
                    if language not in messages:
                        messages[language] = message_or_error(channel, announcement, language)
                    groups.append((messages[language], group))
                in_flight.append((batch, pool.submit(send_groups, channel, groups)))
                continue
            more = False
        if in_flight:
            batch, future = in_flight.popleft()
            sent += record_results(announcement, batch, future.result(), clock.now())
        if more and time.monotonic() > deadline:
            more = False
            for batch, future in in_flight:
                sent += record_results(announcement, batch, future.result(), clock.now())
            return sent, False
    return sent, True


def send_groups(channel, groups: list[tuple[object, list[ClaimedDelivery]]]) -> list[SendResult]:
    """Send each language's group of a batch with its message, one provider call each."""
    return [
        result for message, group in groups for result in send_batch_safely(channel, message, group)
    ]


def postpone_if_circuit_open(announcement: Announcement, channel, now: datetime) -> bool:
    """While a provider's breaker is open, due rows wait for it without using an attempt."""
    until = ProviderState.open_until_for(channel.provider or channel.name, now)
    if until is None:
        return False
    announcement.deliveries.due(now).update(next_attempt_at=until)
    return True


def send_batch_safely(channel, message, batch: list[ClaimedDelivery]) -> list[SendResult]:
    """The batch's results; rows whose message could not be rendered fail with the reason."""
    if is_failure(message):
        return [SendResult(delivery_id=d.id, error=message) for d in batch]
    try:
        with instruments.timed_send(channel.name):
            return channel.send_batch(message, batch)
    except Exception as exc:  # an SDK bug or outage must not strand claimed rows
        log.exception("%s batch failed as a whole", channel.name)
        error = TransientError(f"{type(exc).__name__}: {exc}")
        return [SendResult(delivery_id=d.id, error=error) for d in batch]


def record_results(
    announcement: Announcement,
    batch: list[ClaimedDelivery],
    results: list[SendResult],
    now: datetime,
) -> int:
    by_id = record_outcomes(batch, results, now)
    errors = [r.error for r in (by_id[d.id] for d in batch if d.id in by_id) if r.error]
    provider = get_channel(announcement.channel).provider or announcement.channel
    ProviderState.record_batch(
        provider,
        bool(errors) and len(errors) == len(batch) and not any(e.permanent for e in errors),
        now,
    )
    after_permanent_failures(announcement, batch, by_id, now)
    return sum(1 for d in batch if d.state == DeliveryState.SENT)


def record_outcomes(
    batch: Sequence[ClaimedDelivery | Delivery], results: list[SendResult], now: datetime
) -> dict[int, SendResult]:
    """Apply each result to its claimed row and store them; returns the results by row id.
    The rows are a send task's claimed ones, or a confirmation's Delivery."""
    by_id = {result.delivery_id: result for result in results}
    token = batch[0].claim_token
    for delivery in batch:
        result = by_id.get(delivery.id) or SendResult(
            delivery.id, error=TransientError("the channel reported no result")
        )
        if result.error is None:
            delivery.record_sent(result.provider_id, now)
        else:
            delivery.record_failure(result.error, now)
    save_outcomes(batch, token)
    return by_id


OUTCOME_FIELDS = (
    "state",
    "sent_at",
    "last_error",
    "claim_token",
    "permanent_error",
    # Fields whose values may differ from row to row within a batch: per-message provider
    # ids, SMS segments, and the jittered retry times of failed rows.
    "provider_message_id",
    "segments",
    "next_attempt_at",
)
PER_ROW_FIELDS = OUTCOME_FIELDS[-3:]
SHARED_FIELDS = OUTCOME_FIELDS[:-3]
outcome_of = attrgetter(*OUTCOME_FIELDS)


def save_outcomes(batch: Sequence[ClaimedDelivery | Delivery], token) -> None:
    """Store a batch's outcomes in a few statements, only on rows this worker still holds
    (a row whose lease ran out and was claimed again is left alone). A batch whose rows
    share one outcome (a whole email batch does) is one UPDATE of the rows holding its
    claim token; otherwise one UPDATE per distinct shared outcome, then the per-row values
    (write_per_row). A next_attempt_at of None leaves the row's own."""
    outcomes = {outcome_of(delivery) for delivery in batch}
    if len(outcomes) == 1:
        with outbox_transaction():
            Delivery.objects.in_flight(token).update(**outcome_values(outcomes.pop()))
        return
    groups: dict[tuple, list[int]] = {}
    for delivery in batch:
        groups.setdefault(tuple(getattr(delivery, f) for f in SHARED_FIELDS), []).append(
            delivery.id
        )
    distinct = {tuple(getattr(d, f) for f in PER_ROW_FIELDS) for d in batch}
    with outbox_transaction():
        if len(distinct) == 1:
            per_row = dict(zip(PER_ROW_FIELDS, distinct.pop(), strict=True))
        else:
            per_row = {}
            write_per_row(batch, token)
        for key, ids in groups.items():
            Delivery.objects.filter(id__in=ids, claim_token=token).update(
                **outcome_values((*key, *per_row.values()), SHARED_FIELDS + tuple(per_row))
            )


def outcome_values(values: tuple, fields: tuple[str, ...] = OUTCOME_FIELDS) -> dict[str, object]:
    """Field -> value for an UPDATE, without a next_attempt_at of None (left unchanged)."""
    return {
        f: v
        for f, v in zip(fields, values, strict=True)
        if not (f == "next_attempt_at" and v is None)
    }


def write_per_row(batch: Sequence[ClaimedDelivery | Delivery], token) -> None:
    """Each row's own values (provider id, segments, retry time), only where the row still
    holds `token`: on PostgreSQL one UPDATE ... FROM (VALUES ...) for the whole batch (as
    an executemany, each row was a statement the server parsed and planned, a third of
    the database's time per text); SQLite, in our own process, takes the executemany."""
    fields = [concrete_field(Delivery, f) for f in PER_ROW_FIELDS]
    token_value = Delivery._meta.get_field("claim_token").get_db_prep_value(token, connection)
    rows = [
        [f.get_db_prep_save(getattr(d, f.attname), connection) for f in fields] + [d.id]
        for d in batch
    ]
    table = connection.ops.quote_name(Delivery._meta.db_table)
    claim = connection.ops.quote_name("claim_token")
    columns = [connection.ops.quote_name(column_name(f)) for f in fields]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            values = (
                "("
                + ", ".join(
                    [f"CAST(%s AS {f.db_type(connection)})" for f in fields] + ["%s::bigint"]
                )
                + ")"
            )
            assignments = ", ".join(
                f"{column} = COALESCE(v.column{n}, {table}.{column})"
                if f.name == "next_attempt_at"
                else f"{column} = v.column{n}"
                for n, (f, column) in enumerate(zip(fields, columns, strict=True), start=1)
            )
            cursor.execute(
                f"UPDATE {table} SET {assignments} "
                f"FROM (VALUES {', '.join([values] * len(rows))}) v "
                f"WHERE {table}.id = v.column{len(fields) + 1} AND {table}.{claim} = %s",
                [value for row in rows for value in row] + [token_value],
            )
            return
        assignments = ", ".join(
            f"{column} = COALESCE(%s, {column})"
            if f.name == "next_attempt_at"
            else f"{column} = %s"
            for f, column in zip(fields, columns, strict=True)
        )
        cursor.executemany(
            f"UPDATE {table} SET {assignments} WHERE id = %s AND {claim} = %s",
            [row + [token_value] for row in rows],
        )


def after_permanent_failures(
    announcement: Announcement,
    batch: list[ClaimedDelivery],
    by_id: dict[int, SendResult],
    now: datetime,
) -> None:
    """Suppress addresses that are gone for good and try the subscriber's second channel."""
    failed = {
        d.id: d.subscriber_id for d in batch if d.state == DeliveryState.FAILED and d.subscriber_id
    }
    for delivery_id, subscriber_id in failed.items():
        error = by_id[delivery_id].error if delivery_id in by_id else None
        if error is not None and error.suppression:
            Subscriber.objects.filter(id=subscriber_id, suppressed_at__isnull=True).update(
                suppressed_at=now, suppression=error.suppression, updated_at=now
            )
    if failed:
        fall_back(announcement.update_id, failed.values(), now)


def fall_back(
    update_id: int,
    subscriber_ids: Iterable[int],
    now: datetime,
    reason: str = BackupReason.FIRST_FAILED,
) -> int:
    """Deliver the update on each of these subscribers' backup contacts, once: not to a
    contact sent this update already, and at most one row per (update, contact) whichever
    engine or worker writes it (the outbox's unique key). Returns the rows written."""
    already = Delivery.objects.filter(announcement__update_id=update_id).values("subscriber_id")
    backups = (
        Subscriber.objects.active()
        .filter(id__in=Subscriber.objects.filter(id__in=subscriber_ids).values("fallback_id"))
        .exclude(id__in=already)
    )
    written = 0
    for backup in backups:
        target = write_backup_delivery(update_id, backup, reason, now)
        if target is not None:
            written += 1
            queue_send(target.id, now)
    return written


def write_backup_delivery(
    update_id: int, backup: Subscriber, reason: str, now: datetime
) -> Announcement | None:
    """The backup contact's delivery of the update, under the update's fallback
    announcement on its channel; None when one exists already (another writer's)."""
    target, _ = Announcement.objects.get_or_create(
        update_id=update_id,
        channel=backup.channel,
        recipients=Recipients.FALLBACK,
        audience=None,
        defaults={"created_at": now, "fanned_out_at": now},
    )
    try:
        with transaction.atomic():
            Delivery.objects.create(
                announcement=target,
                channel=backup.channel,
                target=backup.address,
                subscriber=backup,
                backup_reason=reason,
                next_attempt_at=now,
                created_at=now,
            )
    except IntegrityError:
        return None
    return target


def remove_orphans(due: Iterable[tuple[int, str]]) -> list[tuple[int, str]]:
    """(announcement id, channel) pairs of due rows whose announcement exists; rows of
    one deleted while a fan-out chunk was being written (no database constraint refuses
    them) are deleted, as the cascade would have."""
    due = list(due)
    ids = {announcement_id for announcement_id, _ in due}
    gone = ids - set(Announcement.objects.filter(id__in=ids).values_list("id", flat=True))
    if gone:
        Delivery.objects.filter(announcement_id__in=gone).delete()
        log.warning("deleted the deliveries of deleted announcements %s", sorted(gone))
    return [row for row in due if row[0] not in gone]


def retry_due(now: datetime) -> int:
    """Requeue deliveries lost with a dead worker, queue fan-outs the broker lost, and
    queue a send for each announcement with deliveries due (retries, paced SMS, sends
    whose task was lost), most urgent channels first."""
    Delivery.objects.requeue_stale(now)
    stuck = Announcement.objects.filter(
        fanned_out_at__isnull=True, created_at__lt=now - SEND_QUEUE_LEASE
    ).values_list("id", flat=True)[:100]
    due = (
        Delivery.objects.due(now)
        .filter(
            announcement__isnull=False
        )  # confirmations: notifiers.delivery.confirmations.retry_due
        .values_list("announcement_id", "channel")
        .distinct()
        .order_by()[:1000]
    )
    ordered = sorted(remove_orphans(due), key=lambda row: get_channel(row[1]).priority)
    with transaction.atomic():
        for announcement_id in list(stuck):
            if Announcement.mark_fan_out_queued(announcement_id, now):
                enqueue("notifiers.delivery.dispatch.fan_out", announcement_id)
        return sum(queue_send(announcement_id, now) for announcement_id, _ in ordered)
