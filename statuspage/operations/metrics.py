"""The /metrics exposition: this node's processes' instruments plus the cluster's truth.

Per-process counters and histograms (`statuspage.instruments`) come from prometheus_client's
multiprocess files when PROMETHEUS_MULTIPROC_DIR is set, else from this process's registry.
Everything the database knows is read at scrape time by `DatabaseCollector`, a few cheap
queries, so any node answers for the whole cluster and nothing is counted twice.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from pathlib import Path

from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from statuspage import clock
from statuspage.operations import readings

log = logging.getLogger(__name__)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def exposition() -> bytes:
    """The text format of every metric this node reports."""
    registry = CollectorRegistry(auto_describe=False)
    path = os.environ.get(MULTIPROC_ENV)
    if path:
        MultiProcessCollector(registry, path=path)
    else:
        registry.register(REGISTRY)
    registry.register(DatabaseCollector())
    return generate_latest(registry)


def seconds(moment: datetime | None) -> float | None:
    return moment.timestamp() if moment else None


def age(now: datetime, moment: datetime | None) -> float:
    """Seconds since `moment`; 0 when there is nothing waiting."""
    return max((now - moment).total_seconds(), 0.0) if moment else 0.0


def engine_metrics(now: datetime) -> Iterator[Metric]:
    engines = readings.engines(now)
    yield GaugeMetricFamily(
        "statuspage_engines_alive",
        "Engines that beat within two heartbeat intervals.",
        value=sum(e.alive for e in engines),
    )
    up = GaugeMetricFamily(
        "statuspage_engine_up", "1 while this engine beats, 0 once it is silent.", labels=["engine"]
    )
    beat = GaugeMetricFamily(
        "statuspage_engine_last_beat_timestamp_seconds",
        "When this engine last beat (Unix time).",
        labels=["engine"],
    )
    checks = CounterMetricFamily(
        "statuspage_engine_checks_completed",
        "Checks this engine recorded, as counted in the database (rate(): checks per second).",
        labels=["engine"],
    )
    slip = GaugeMetricFamily(
        "statuspage_engine_schedule_slip_p99_seconds",
        "The 99th percentile of how late this engine's recent checks started.",
        labels=["engine"],
    )
    for engine in engines:
        up.add_metric([engine.name], int(engine.alive))
        checks.add_metric([engine.name], engine.checks_completed)
        if engine.last_beat_at:
            beat.add_metric([engine.name], engine.last_beat_at.timestamp())
        if engine.slip_p99_ms is not None:
            slip.add_metric([engine.name], engine.slip_p99_ms / 1000)
    yield from (up, beat, checks, slip)
    leader = readings.leader(now, engines)
    yield GaugeMetricFamily(
        "statuspage_housekeeping_leader_up",
        "1 while a live engine runs the singleton housekeeping (rollups, clock, retries).",
        value=int(leader.alive),
    )


def probe_metrics(now: datetime) -> Iterator[Metric]:
    probes = readings.probes(now)
    yield GaugeMetricFamily("statuspage_probes_enabled", "Enabled probes.", value=probes.enabled)
    yield GaugeMetricFamily(
        "statuspage_probes_unknown",
        "Enabled probes nobody checked for two of their intervals: their status is unknown.",
        value=probes.unknown,
    )


def incident_metrics(now: datetime) -> Iterator[Metric]:
    family = GaugeMetricFamily(
        "statuspage_incidents_open",
        "Unresolved incidents by kind (incident, monitoring interruption) and impact.",
        labels=["kind", "impact"],
    )
    for (kind, impact), count in sorted(readings.open_incidents().items()):
        family.add_metric([kind, impact], count)
    yield family


def outbox_metrics(now: datetime) -> Iterator[Metric]:
    families = {
        "pending": GaugeMetricFamily(
            "statuspage_deliveries_pending",
            "Deliveries waiting to be sent (new, retrying or paced), by channel.",
            labels=["channel"],
        ),
        "sending": GaugeMetricFamily(
            "statuspage_deliveries_sending",
            "Deliveries a worker claimed and has not recorded yet, by channel.",
            labels=["channel"],
        ),
        "oldest": GaugeMetricFamily(
            "statuspage_deliveries_oldest_pending_age_seconds",
            "Age of the oldest waiting delivery since it was written, by channel (0: none).",
            labels=["channel"],
        ),
        "due": GaugeMetricFamily(
            "statuspage_deliveries_oldest_due_age_seconds",
            "How long the longest-due waiting delivery has been due and unsent (0: none).",
            labels=["channel"],
        ),
    }
    for row in readings.outbox(now):
        families["pending"].add_metric([row.channel], row.pending)
        families["sending"].add_metric([row.channel], row.sending)
        families["oldest"].add_metric([row.channel], age(now, row.oldest_pending_at))
        families["due"].add_metric([row.channel], age(now, row.oldest_due_at))
    yield from families.values()


def breaker_metrics(now: datetime) -> Iterator[Metric]:
    state = GaugeMetricFamily(
        "statuspage_provider_breaker_state",
        "Each provider's circuit breaker: 0 closed, 1 half-open (the next batch decides), "
        "2 open (sends held back).",
        labels=["provider"],
    )
    failures = GaugeMetricFamily(
        "statuspage_provider_failed_batches",
        "Batches in a row that failed transiently at this provider.",
        labels=["provider"],
    )
    for breaker in readings.breakers(now):
        state.add_metric([breaker.provider], breaker.state)
        failures.add_metric([breaker.provider], breaker.consecutive_failures)
    yield from (state, failures)


def gauge(name: str, documentation: str, broker: str, value: float) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, documentation, labels=["broker"])
    family.add_metric([broker], value)
    return family


def queue_metrics(now: datetime) -> Iterator[Metric]:
    queue = readings.task_queue(now)
    yield gauge(
        "statuspage_task_queue_depth",
        "Tasks waiting on the broker for a worker.",
        queue.broker,
        queue.queued,
    )
    yield gauge(
        "statuspage_task_queue_oldest_age_seconds",
        "How long the oldest waiting task has waited (0: the queue is empty).",
        queue.broker,
        age(now, queue.oldest_queued_at),
    )
    yield gauge(
        "statuspage_task_queue_stalled",
        "1 while on-call is paged about a stall of the queue (work waits, nothing finishes).",
        queue.broker,
        int(queue.stalled),
    )
    if queue.in_flight is not None:
        yield gauge(
            "statuspage_task_queue_in_flight",
            "Tasks a worker took and has not acknowledged yet (ORM broker only).",
            queue.broker,
            queue.in_flight,
        )
    if queue.last_finished_at:
        yield gauge(
            "statuspage_task_last_finished_timestamp_seconds",
            "When a task worker last finished a task (Unix time).",
            queue.broker,
            queue.last_finished_at.timestamp(),
        )


SOURCES: dict[str, Callable[[datetime], Iterable[Metric]]] = {
    "engines": engine_metrics,
    "probes": probe_metrics,
    "incidents": incident_metrics,
    "outbox": outbox_metrics,
    "breakers": breaker_metrics,
    "task_queue": queue_metrics,
}


class DatabaseCollector(Collector):
    """Reads the cluster's state at scrape time. A source that cannot be read (the database
    or Redis down) is left out and reported by `statuspage_metrics_source_up`, so the
    per-process metrics still reach Prometheus."""

    def collect(self) -> Iterator[Metric]:
        now = clock.now()
        up = GaugeMetricFamily(
            "statuspage_metrics_source_up",
            "1 when this scrape could read the source (database tables, the broker).",
            labels=["source"],
        )
        for name, source in SOURCES.items():
            try:
                families = list(source(now))
            except Exception:
                log.exception("metrics: reading %s failed", name)
                up.add_metric([name], 0)
                continue
            up.add_metric([name], 1)
            yield from families
        yield up


def reset_multiprocess_dir(path: Path) -> list[int]:
    """Wipe a node's multiprocess files before its processes start, as prometheus_client's
    documentation asks, unless a process that writes there still runs: then nothing is
    removed (wiping under a live process would hide its values until it restarts, and
    removing only the dead ones' files would make counters go down). Returns the live
    pids found."""
    path.mkdir(parents=True, exist_ok=True)
    files = list(path.glob("*.db"))
    live = sorted({pid for pid in map(pid_of, files) if pid is not None and running(pid)})
    if not live:
        for file in files:
            file.unlink(missing_ok=True)
    return live


def pid_of(file: Path) -> int | None:
    """prometheus_client names its files <type>[_<mode>]_<pid>.db."""
    tail = file.stem.rpartition("_")[2]
    return int(tail) if tail.isdigit() else None


def running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return pid != os.getpid()
