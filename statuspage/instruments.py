"""The per-process Prometheus instruments: what one engine or one task worker counts itself.

Values that live in the database (engines, probes, incidents, the outbox, breakers, the
task queue) are read at scrape time instead (`statuspage.operations.metrics`); only what
a process sees and the database never records is counted here.

With PROMETHEUS_MULTIPROC_DIR set (before this module is first imported: prometheus_client
picks its storage then), each process writes its values to its own files in that directory
and any web process's /metrics adds them up; without it they stay in this process's memory,
which suits a single process (tests, a lone web server) only.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from prometheus_client import Counter, Histogram

CHECKS = Counter(
    "statuspage_engine_checks_started",
    "Probe checks the engines of this node claimed and started.",
)
SCHEDULE_SLIP = Histogram(
    "statuspage_engine_schedule_slip_seconds",
    "How late each check started against its probe's schedule.",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60),
)
SEND_SECONDS = Histogram(
    "statuspage_send_batch_duration_seconds",
    "How long one provider call took to send a batch of deliveries, by channel.",
    ["channel"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)

PUBLIC_ANSWERS = Counter(
    "statuspage_public_answers",
    "Public answers served by this process, by kind and how: stored, not_modified (a 304 "
    "from the store), rendered, live (store unreachable), last_resort (database down, an "
    "older answer), unavailable (database down, a 503 status unknown).",
    ["kind", "how"],
)


def count_claims(checks: int, slips: Sequence[float]) -> None:
    """One engine tick's claim: how many checks it starts and how late each one is."""
    if checks:
        CHECKS.inc(checks)
    for slip in slips:
        SCHEDULE_SLIP.observe(max(slip, 0.0))


@contextmanager
def timed_send(channel: str) -> Iterator[None]:
    """Time a provider call, whether it returns or raises."""
    started = time.perf_counter()
    try:
        yield
    finally:
        SEND_SECONDS.labels(channel).observe(time.perf_counter() - started)
