"""Where each cluster-wide metric comes from: one cheap query (or Redis round trip) a reading.

These are read at scrape time, so every node reports the same truth from the database
whichever process counted it. Each function is the one place to change when its source
changes (per-engine rows, the housekeeping lease, the queue's liveness check).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import redis
from django.conf import settings
from django.core import signing
from django.db.models import (
    Count,
    Min,
    Q,
)
from django_q.models import OrmQ

from incidents.models import Impact, Incident
from notifiers.models import Delivery, DeliveryState, ProviderState, TaskQueueBeat
from notifiers.registry import registered
from statuspage.models import Lease, Probe
from statuspage.picture import monitoring


@dataclass(frozen=True)
class EngineReading:
    name: str
    host: str
    last_beat_at: datetime | None
    checks_completed: int
    slip_p99_ms: float | None
    alive: bool
    holder_name: str = ""  # how the housekeeping lease names this engine


@dataclass(frozen=True)
class LeaderReading:
    holder: str
    alive: bool


@dataclass(frozen=True)
class ProbeReading:
    enabled: int
    unknown: int


@dataclass(frozen=True)
class OutboxReading:
    channel: str
    pending: int
    sending: int
    oldest_pending_at: datetime | None
    oldest_due_at: datetime | None


@dataclass(frozen=True)
class BreakerReading:
    provider: str
    state: int  # BREAKER_STATES' index
    consecutive_failures: int


BREAKER_STATES = ("closed", "half_open", "open")


@dataclass(frozen=True)
class QueueReading:
    broker: str
    queued: int
    in_flight: int | None  # the Redis broker does not keep the tasks it handed out
    oldest_queued_at: datetime | None
    last_finished_at: datetime | None
    stalled: bool  # on-call was paged about a stall of this queue and it has not moved since


def engines(now: datetime) -> list[EngineReading]:
    """One reading per registered engine process (`EngineNode`): alive or dead, and those
    stopped within the last hour, as the console lists them."""
    return [
        EngineReading(
            name=f"{node.host}:{node.pid}",
            host=node.host,
            last_beat_at=node.last_beat_at,
            checks_completed=node.checks_completed,
            slip_p99_ms=node.slip_p99_ms,
            alive=node.is_alive(now),
            holder_name=node.holder_name,
        )
        for node in monitoring.engines(now)
    ]


def leader(now: datetime, engines_now: list[EngineReading]) -> LeaderReading:
    """Who runs the singleton housekeeping: the holder of the `housekeeping` lease, alive
    while its engine still beats (a lease outlives its dead holder by one heartbeat)."""
    holder = Lease.holder_of(Lease.HOUSEKEEPING, now) or ""
    node = next((e for e in engines_now if e.holder_name == holder), None)
    return LeaderReading(holder=node.name if node else holder, alive=bool(node and node.alive))


def probes(now: datetime) -> ProbeReading:
    """Enabled probes, and those nobody checked for two of their intervals: the same rule
    (`Probe.overdue`) that turns their components "status unknown" on the public page."""
    overdue = Q(pk__in=Probe.overdue(now).values("pk"))
    row = Probe.objects.filter(enabled=True).aggregate(
        enabled=Count("id"), unknown=Count("id", filter=overdue)
    )
    return ProbeReading(enabled=row["enabled"], unknown=row["unknown"])


def open_incidents() -> dict[tuple[str, str], int]:
    """Open incidents (and staff-only monitoring interruptions) by kind and impact; every
    impact of a real incident is present, zero or not, so alerts see a steady series."""
    counts = {(Incident.Kind.INCIDENT.value, impact.value): 0 for impact in Impact}
    rows = Incident.objects.unresolved().values("kind", "impact").annotate(n=Count("id"))
    for row in rows:
        counts[(row["kind"], row["impact"])] = row["n"]
    return counts


def outbox(now: datetime) -> list[OutboxReading]:
    """Unsent deliveries per channel: waiting (retries and paced rows included) and in a
    worker's hands, the oldest waiting one's creation and the longest-due one's due time."""
    due = Q(state=DeliveryState.PENDING, next_attempt_at__lte=now)
    rows = (
        Delivery.objects.filter(state__in=[DeliveryState.PENDING, DeliveryState.SENDING])
        .values("channel")
        .annotate(
            pending=Count("id", filter=Q(state=DeliveryState.PENDING)),
            sending=Count("id", filter=Q(state=DeliveryState.SENDING)),
            oldest_pending=Min("created_at", filter=Q(state=DeliveryState.PENDING)),
            oldest_due=Min("next_attempt_at", filter=due),
        )
        .order_by()
    )
    found: dict[str, dict[str, Any]] = {row["channel"]: dict(row) for row in rows}
    empty = {"pending": 0, "sending": 0, "oldest_pending": None, "oldest_due": None}
    return [
        OutboxReading(
            channel=name,
            pending=row["pending"],
            sending=row["sending"],
            oldest_pending_at=row["oldest_pending"],
            oldest_due_at=row["oldest_due"],
        )
        for name, row in (
            (name, found.get(name, empty)) for name in sorted({*registered(), *found})
        )
    ]


def breakers(now: datetime) -> list[BreakerReading]:
    """Each provider's circuit breaker: open while `open_until` is ahead; half-open once it
    passed and no batch went through since (the next batch decides); closed otherwise."""
    readings = []
    for provider, failures, until in ProviderState.objects.values_list(
        "provider", "consecutive_failures", "open_until"
    ).order_by("provider"):
        state = 0 if until is None else 2 if until > now else 1
        readings.append(BreakerReading(provider, state, failures))
    return readings


def task_queue(now: datetime) -> QueueReading:
    """The django-q2 queue on the broker the cluster uses, and from the queue's beat row
    (notifiers.TaskQueueBeat) when a worker last finished a task and whether a stall was
    paged (incidents.response.queue_stall)."""
    config = q_cluster()
    name = config.get("name", "default")
    beat = TaskQueueBeat.objects.filter(name=name).first()
    finished = beat.last_finished_at if beat else None
    stalled = bool(beat and beat.alarm_raised_at)
    if config.get("redis"):
        queued, head = redis_queue_head(config["redis"], name)
        return QueueReading("redis", queued, None, enqueued_at(head), finished, stalled)
    alias = config.get("orm", "default")
    # The ORM broker stamps `lock` with the enqueue time and moves it `retry` seconds ahead
    # when a worker takes the task: lock <= now is waiting, lock > now is in a worker's hands.
    row = (
        OrmQ.objects.using(alias)
        .filter(key=name)
        .aggregate(
            queued=Count("id", filter=Q(lock__lte=now)),
            in_flight=Count("id", filter=Q(lock__gt=now)),
            oldest=Min("lock", filter=Q(lock__lte=now)),
        )
    )
    return QueueReading("orm", row["queued"], row["in_flight"], row["oldest"], finished, stalled)


def q_cluster() -> dict[str, Any]:
    """django-q2's settings, read at each call (tests and nodes may change them)."""
    return settings.Q_CLUSTER


def redis_queue_head(config: str | dict, name: str) -> tuple[int, bytes | None]:
    """One round trip: the list's length and its head, the oldest task (django-q2 pushes on
    the right and pops on the left)."""
    key = f"django_q:{name}:q"
    pipe = redis_client(config).pipeline()
    pipe.llen(key)
    pipe.lindex(key, 0)
    length, head = pipe.execute()
    return int(length), head


_clients: dict[str, redis.Redis] = {}


def redis_client(config: str | dict, timeout: float = 2.0) -> redis.Redis:
    """A client for Q_CLUSTER["redis"] (a URL or django-q2's dict of connection kwargs),
    kept per configuration, with short timeouts: a scrape or a readiness check must not
    hang on a dead Redis."""
    key = repr(config)
    if key not in _clients:
        timeouts = {"socket_connect_timeout": timeout, "socket_timeout": timeout}
        _clients[key] = (
            redis.Redis.from_url(config, **timeouts)
            if isinstance(config, str)
            else redis.Redis(**{**timeouts, **config})
        )
    return _clients[key]


def enqueued_at(payload: bytes | None) -> datetime | None:
    """When a queued django-q2 task was signed, from the timestamp its TimestampSigner
    signature carries (`data:timestamp:signature`); None for no task or another format."""
    if not payload:
        return None
    parts = payload.decode(errors="replace").rsplit(":", 2)
    if len(parts) != 3:
        return None
    try:
        seconds = signing.b62_decode(parts[1])
    except ValueError:
        return None
    return datetime.fromtimestamp(seconds, tz=UTC)
