"""Is the task queue moving? The age of its oldest queued task and the time since a worker
last finished one, read from the broker and the `TaskQueueBeat` row, by any process.

A cluster can look alive and run nothing (docs/RELIABILITY.md, "Task workers killed"), so
liveness is judged from the work itself: tasks waiting longer than TASKS["STALL_SECONDS"]
while no task finished for as long is a stall. The supervisor (`manage.py tasks`) restarts
its cluster on it; the engine's housekeeping and `manage.py watchdog` page staff
(incidents.response.queue_stall); the metrics read `queue_health()` as it is.

What each broker shows: the ORM broker keeps a task's row until it is acknowledged, so a
task handed to a wedged cluster still counts; the Redis broker pops a task when the
cluster takes it, so the few a wedged cluster took (its queue limit) are invisible, and
the stall shows once the outbox sweep queues more work behind them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django_q.brokers import Broker, get_broker
from django_q.brokers.orm import ORM
from django_q.brokers.redis_broker import Redis
from django_q.conf import Conf
from django_q.models import OrmQ
from django_q.signing import BadSignature, SignedPackage

from notifiers.models import TaskQueueBeat
from statuspage import clock

log = logging.getLogger(__name__)

# A worker stamps the beat row at most this often: one UPDATE per task would cost every
# short task a write (and on SQLite the write lock) for a figure read against minutes.
STAMP_EVERY = timedelta(seconds=2)


@dataclass(frozen=True)
class QueueHealth:
    queue: str
    depth: int
    # Seconds the oldest queued task has waited since it was queued (None: queue empty).
    oldest_age_seconds: float | None
    last_finished_at: datetime | None
    # Seconds since a worker last finished a task (None: never, as far as the row knows).
    since_finished_seconds: float | None
    stalled: bool
    alarm_raised_at: datetime | None


def stall_after() -> timedelta:
    return timedelta(seconds=settings.TASKS["STALL_SECONDS"])


def queue_name() -> str:
    return Conf.CLUSTER_NAME


def queue_health(now: datetime | None = None, running_since: datetime | None = None) -> QueueHealth:
    """The queue as the broker and the beat row show it now.

    `running_since`: when the caller's own cluster started (the supervisor's): a stall is
    not judged against the time before it ran.
    """
    now = now or clock.now()
    depth, oldest = oldest_queued(get_broker())
    beat = TaskQueueBeat.objects.filter(name=queue_name()).first()
    last = beat.last_finished_at if beat else None
    age = seconds(now - oldest) if oldest else None
    since = seconds(now - last) if last else None
    moved = max(filter(None, (last, running_since)), default=None)
    quiet = now - moved if moved else None
    limit = stall_after()
    stalled = bool(depth and oldest and now - oldest > limit and (quiet is None or quiet > limit))
    return QueueHealth(
        queue_name(),
        depth,
        age,
        last,
        since,
        stalled,
        beat.alarm_raised_at if beat else None,
    )


def seconds(delta: timedelta) -> float:
    return round(max(delta.total_seconds(), 0.0), 3)


def oldest_queued(broker: Broker) -> tuple[int, datetime | None]:
    """How many tasks the broker holds for this queue, and when the oldest was queued."""
    if isinstance(broker, ORM):
        rows = OrmQ.objects.using(Conf.ORM).filter(key=broker.list_key)
        first = rows.order_by("id").values_list("payload", flat=True).first()
        return rows.count(), queued_at(first)
    if isinstance(broker, Redis):
        depth = broker.connection.llen(broker.list_key)
        return depth, queued_at(broker.connection.lindex(broker.list_key, 0)) if depth else None
    return broker.queue_size() or 0, None


def queued_at(payload) -> datetime | None:
    """When a task was queued (django-q2 stamps `started` in the signed package)."""
    if payload is None:
        return None
    try:
        return SignedPackage.loads(payload).get("started")
    except (BadSignature, TypeError, ValueError):
        log.warning("a task on the broker could not be read (signed with another key?)")
        return None


_last_stamp: datetime | None = None


def note_task_finished(**signal_kwargs) -> None:
    """django-q2's post_execute_in_worker receiver: stamp the beat row, at most every
    STAMP_EVERY per worker. A failure is logged, never raised into the worker."""
    global _last_stamp
    now = clock.now()
    if _last_stamp is not None and timedelta(0) <= now - _last_stamp < STAMP_EVERY:
        return
    try:
        TaskQueueBeat.stamp_finished(queue_name(), now)
        _last_stamp = now
    except Exception:
        log.exception("stamping the task queue's beat failed")
