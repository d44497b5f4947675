"""Who watches the watcher: is any engine still checking?

Each engine process registers an `EngineNode` and beats on it; every beat also stamps the
fleet's `EngineHeartbeat` row, which holds the newest beat of any engine and the alarm. When
no engine beat for two intervals, nobody knows the state of the monitored systems any
more, so every public surface says "status unknown" instead of showing the last (possibly
stale) green, and on-call staff are paged by whichever process notices first: the web
process on a public request, or `manage.py watchdog` from cron/systemd. Neither depends on
the engines.
"""

from __future__ import annotations

import logging
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import F, Max, Min, Subquery
from django.utils.module_loading import import_string

from statuspage import clock
from statuspage.changes import picture_changed
from statuspage.models import EngineHeartbeat, EngineNode, Lease, Probe

log = logging.getLogger(__name__)

ENGINE_NAME = "engine"
MISSED_INTERVALS = 2
CACHE_SECONDS = 2.0
INDICATOR_WHEN_UNKNOWN = "minor"


@dataclass(frozen=True)
class MonitoringState:
    interrupted: bool
    # The last moment monitoring is known to have worked (or been expected to start).
    since: datetime | None = None
    last_cycle_at: datetime | None = None


_cache: dict[str, tuple[datetime, MonitoringState]] = {}


def forget() -> None:
    """Drop the cached answer (tests, and the engine after it writes a heartbeat)."""
    _cache.clear()


def heartbeat_interval() -> timedelta:
    return timedelta(seconds=settings.ENGINE["HEARTBEAT_SECONDS"])


def monitoring_state() -> MonitoringState:
    """Cheap enough for every public request: a small query at most every CACHE_SECONDS."""
    now = clock.now()
    cached = _cache.get(ENGINE_NAME)
    if cached and timedelta(0) <= now - cached[0] < timedelta(seconds=CACHE_SECONDS):
        return cached[1]
    state = compute_state(now)
    if state.interrupted:
        raise_alarm(state, now)
    _cache[ENGINE_NAME] = (now, state)
    return state


def compute_state(now: datetime) -> MonitoringState:
    """One query: the enabled probes' first creation time and the engine's last cycle.

    No enabled probe means nothing to monitor. With no engine heartbeat ever, monitoring
    was due since the first probe existed.
    """
    beat = EngineHeartbeat.objects.filter(name=ENGINE_NAME)
    row = Probe.objects.filter(enabled=True).aggregate(
        first=Min("created_at"),
        last_cycle=Max(Subquery(beat.values("last_cycle_at")[:1])),
        interval=Max(Subquery(beat.values("interval_seconds")[:1])),
    )
    if row["first"] is None:
        return MonitoringState(interrupted=False)
    last_cycle = row["last_cycle"]
    interval = timedelta(seconds=row["interval"]) if row["interval"] else heartbeat_interval()
    reference = last_cycle or row["first"]
    silent = now - reference > MISSED_INTERVALS * interval
    return MonitoringState(silent, reference if silent else None, last_cycle)


def record_cycle(
    now: datetime, checks_completed: int = 0, slip_p99_ms: float | None = None
) -> None:
    """The engine's pulse: one UPDATE per loop (INSERT the first time). The first pulse
    after an alarm clears it and tells the pagers that monitoring is restored, once."""
    fields = {
        "last_cycle_at": now,
        "interval_seconds": settings.ENGINE["HEARTBEAT_SECONDS"],
        "alarm_raised_at": None,
    }
    if slip_p99_ms is not None:
        fields["slip_p99_ms"] = slip_p99_ms
    beat = EngineHeartbeat.objects.filter(name=ENGINE_NAME)
    counted = F("checks_completed") + checks_completed
    updated = beat.filter(alarm_raised_at__isnull=True).update(checks_completed=counted, **fields)
    if not updated and beat.filter(alarm_raised_at__isnull=False).update(
        checks_completed=counted, **fields
    ):
        picture_changed()
        tell_pagers(MonitoringState(interrupted=False, last_cycle_at=now), now)
    elif not updated:
        EngineHeartbeat.objects.get_or_create(
            name=ENGINE_NAME,
            defaults={
                **fields,
                "started_at": now,
                "host": socket.gethostname(),
                "checks_completed": checks_completed,
            },
        )
    forget()


def record_start(now: datetime, pid: int) -> EngineNode:
    """Register one engine process and count it as a beat of the fleet."""
    node = EngineNode.register(
        socket.gethostname(),
        pid,
        now,
        settings.ENGINE["HEARTBEAT_SECONDS"],
        settings.ENGINE["REGION"],
    )
    record_cycle(now)
    EngineHeartbeat.objects.filter(name=ENGINE_NAME).update(started_at=now, pid=pid, host=node.host)
    return node


def record_beat(
    node: EngineNode, now: datetime, checks_completed: int, slip_p99_ms: float | None
) -> None:
    """One engine's beat: its own row, then the fleet's (which may tell "restored")."""
    node.beat(now, checks_completed, slip_p99_ms)
    record_cycle(now, checks_completed, slip_p99_ms)


def record_stop(node: EngineNode, now: datetime) -> None:
    """A clean stop: the engine is marked stopped (never "dead") and gives up its leases."""
    node.stop(now)
    Lease.objects.filter(holder=node.holder_name).update(expires_at=now)


def engines(now: datetime, history: timedelta = timedelta(hours=1)) -> list[EngineNode]:
    """The engines staff see: every one alive or dead, and those stopped within `history`."""
    recent = EngineNode.objects.filter(last_beat_at__gte=now - max(history, timedelta(days=1)))
    return [
        n
        for n in recent.order_by("host", "started_at", "id")
        if n.stopped_at is None or now - n.stopped_at <= history
    ]


def dead_engines(now: datetime) -> list[EngineNode]:
    return EngineNode.dead(now)


def housekeeping_leader(now: datetime, among: list[EngineNode] | None = None) -> EngineNode | None:
    """The engine holding the housekeeping lease now, or None (no engine, or it lapsed).
    Given the engines already read (`among`), it is found there without a further query."""
    holder = Lease.holder_of(Lease.HOUSEKEEPING, now)
    if not holder:
        return None
    if among is not None:
        return next((n for n in among if n.holder_name == holder), None)
    return EngineNode.from_holder_name(holder)


def raise_alarm(state: MonitoringState, now: datetime) -> bool:
    """Page on-call once per interruption: only the process whose UPDATE wins pages, and
    only while no cycle completed since `state` was read (a late reader pages nobody)."""
    EngineHeartbeat.objects.get_or_create(name=ENGINE_NAME)
    won = EngineHeartbeat.objects.filter(
        name=ENGINE_NAME, alarm_raised_at__isnull=True, last_cycle_at=state.last_cycle_at
    ).update(alarm_raised_at=now)
    if not won:
        return False
    picture_changed()
    tell_pagers(state, now)
    return True


def tell_pagers(state: MonitoringState, now: datetime) -> None:
    """Each ENGINE["ONCALL_PAGERS"] hook, on its own: one failing does not stop the others."""
    for path in settings.ENGINE["ONCALL_PAGERS"]:
        try:
            import_string(path)(state, now)
        except Exception:
            log.exception("on-call pager %s failed", path)


def log_page(state: MonitoringState, now: datetime) -> None:
    """The first pager: a CRITICAL log line, which log shippers and cron mail surface even
    when the database-backed outbox is down too. (A silent probe's own line is logged by
    statuspage.picture.silence before it calls the pagers.)"""
    if not isinstance(state, MonitoringState):
        return
    if not state.interrupted:
        log.warning(
            "monitoring restored: the engine completed a probe cycle at %s", now.isoformat()
        )
        return
    log.critical(
        "monitoring interrupted: no probe cycle completed since %s; status is unknown",
        state.since.isoformat() if state.since else "the engine was never started",
    )


def overall_when_unknown(
    indicator: str, description: str, state: MonitoringState, order: list[str], unknown_text: str
) -> tuple[str, str]:
    """Never a stale green: at least 'minor', and a description that says we do not know."""
    if not state.interrupted:
        return indicator, description
    worse = max(indicator, INDICATOR_WHEN_UNKNOWN, key=order.index)
    return worse, unknown_text
