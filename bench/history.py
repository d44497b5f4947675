"""Benchmark: the public answers at a year of history, rendered without any cache.

Measures, in the same run, the same answers twice: first on a small page (BASELINE_COMPONENTS
components, no history: the baseline), then after seeding a year of history into the same
database (COMPONENTS components in groups, a year of daily rollups and uptime days, 90 days of
hourly rollups, 500 published incidents with their updates and status changes). Every
request runs with Django's cache emptied first, so each one is a full live render (the
uptime-bar fragments and the latency charts included). Per answer: p50 and p95 over
REQUESTS requests, the median of ROUNDS rounds, and the database queries of one request.

    make bench-history           # or: .venv/bin/python -m bench.history [components] [incidents]
"""

from __future__ import annotations

import os
import platform
import random
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import public_site  # noqa: E402

ROUNDS = int(os.environ.get("BENCH_ROUNDS", 5))
REQUESTS = int(os.environ.get("BENCH_REQUESTS", 20))
BASELINE_COMPONENTS = 3
COMPONENTS = 100
INCIDENTS = 500
GROUPS = 5
HISTORY_DAYS = 365
HOURLY_DAYS = 90
UPDATES_PER_INCIDENT = 4


def setup_django(var_dir: str) -> None:
    # ANSWERS_STORE=0: every request renders live, no stored answers.
    public_site.setup_django(
        var_dir, os.environ.get("BENCH_DATABASE_URL", ""), REDIS_URL="", ANSWERS_STORE="0"
    )
    from django.core.management import call_command

    call_command("flush", interactive=False, verbosity=0)
    from django.conf import settings

    # As in production: no SQL logging on every cursor (CaptureQueriesContext still counts).
    settings.DEBUG = False


def beat_for_the_run(now: datetime) -> None:
    """An engine heartbeat that stays fresh through the run, so the answers measured are the
    ordinary ones, not "monitoring interrupted"."""
    from statuspage.models import EngineHeartbeat
    from statuspage.picture.monitoring import forget, record_cycle

    record_cycle(now)
    EngineHeartbeat.objects.update(interval_seconds=24 * 3600)
    forget()


def make_components(count: int, created: datetime, first: int = 0) -> list:
    from statuspage.models import Component, ComponentGroup, Probe

    groups = [
        ComponentGroup.objects.get_or_create(name=f"Region {g}", defaults={"position": g})[0]
        for g in range(GROUPS)
    ]
    made = []
    for n in range(first, first + count):
        component = Component.objects.create(
            name=f"Component {n}", group=groups[n % GROUPS], position=n, advice="Retry later."
        )
        Component.objects.filter(id=component.id).update(created_at=created)
        Probe.objects.create(
            component=component, name="health", url="http://127.0.0.1:1/", last_checked_at=created
        )
        made.append(component)
    return made


def hourly_rollups(now: datetime, days: int, history_days: int = HISTORY_DAYS) -> None:
    """Hourly rollups for `days`, and daily ones for all history (the retention policy)."""
    from statuspage.models import Probe, ResultRollup, RollupPeriod

    hour = now.replace(minute=0, second=0, microsecond=0)
    day = hour.replace(hour=0)
    histogram = {"17": 50, "18": 10}
    for probe in Probe.objects.all():
        rows = [
            ResultRollup(
                probe=probe,
                period=RollupPeriod.HOUR,
                start=hour - timedelta(hours=h),
                checks=60,
                failures=0,
                latency_sum=60 * (40 + h % 9),
                histogram=histogram,
            )
            for h in range(1, days * 24)
        ]
        rows += [
            ResultRollup(
                probe=probe,
                period=RollupPeriod.DAY,
                start=day - timedelta(days=d),
                checks=1440,
                failures=0,
                latency_sum=1440 * 45.0,
                histogram=histogram,
            )
            for d in range(1, history_days)
        ]
        ResultRollup.objects.bulk_create(rows, batch_size=2000)


def make_incidents(components: list, now: datetime, count: int, days: int = HISTORY_DAYS) -> None:
    """`count` published incidents over the year, each with its updates, affected
    components and the status changes the uptime rollup reads; the newest two still open."""
    from incidents.models import AffectedComponent, Incident, IncidentStatus, IncidentUpdate
    from statuspage.models import ComponentStatusChange

    chance = random.Random(15)
    span = timedelta(days=days - 1)
    for k in range(count):
        started = now - span * (k + 1) / count
        open_ = k < 2
        resolved = None if open_ else started + timedelta(minutes=chance.randint(10, 240))
        incident = Incident.objects.create(
            name=f"Elevated errors #{k}",
            status=IncidentStatus.INVESTIGATING if open_ else IncidentStatus.RESOLVED,
            impact=chance.choice(["minor", "major", "critical"]),
            started_at=started,
            detected_at=started,
            published_at=started,
            resolved_at=resolved,
            created_at=started,
            updated_at=resolved or started,
        )
        hit = chance.sample(components, chance.randint(1, 3))
        AffectedComponent.objects.bulk_create(
            AffectedComponent(incident=incident, component=c, status="major_outage") for c in hit
        )
        kinds = ["opened", "update", "recovering", "resolved"][:UPDATES_PER_INCIDENT]
        IncidentUpdate.objects.bulk_create(
            IncidentUpdate(
                incident=incident,
                kind=kind,
                status=incident.status,
                body=f"{kind}: we are looking into elevated error rates on the API.",
                display_at=started + timedelta(minutes=5 * n),
                created_at=started + timedelta(minutes=5 * n),
                updated_at=started + timedelta(minutes=5 * n),
            )
            for n, kind in enumerate(kinds if not open_ else kinds[:1])
        )
        changes = [
            ComponentStatusChange(
                component=c, old_status="operational", new_status="major_outage", changed_at=started
            )
            for c in hit
        ]
        if resolved is not None:
            changes += [
                ComponentStatusChange(
                    component=c,
                    old_status="major_outage",
                    new_status="operational",
                    changed_at=resolved,
                )
                for c in hit
            ]
        ComponentStatusChange.objects.bulk_create(changes)
    for incident in Incident.objects.filter(resolved_at__isnull=True):
        for component in incident.components.all():
            component.set_status("major_outage")


def seed_history(
    now: datetime,
    components: int,
    incidents: int,
    days: int = HISTORY_DAYS,
    hourly_days: int = HOURLY_DAYS,
) -> None:
    """Grow the page to `components` components with `days` days of history (rollups,
    status changes, uptime days) and `incidents` more incidents over those days."""
    from statuspage.models import Component, ResultRollup
    from statuspage.picture.uptime import local_day, rollup

    created = now - timedelta(days=days + 1)
    Component.objects.update(created_at=created)
    existing = Component.objects.count()
    make_components(components - existing, created, first=existing)
    everything = list(Component.objects.all())
    ResultRollup.objects.all().delete()
    hourly_rollups(now, hourly_days, days)
    make_incidents(everything, now, incidents, days)
    rollup(local_day(now) - timedelta(days=days - 1), local_day(now), now)


@dataclass
class Figure:
    p50: float
    p95: float
    cpu50: float
    cpu95: float
    queries: int


def percentiles(times: list[float]) -> tuple[float, float]:
    ordered = sorted(times)
    return statistics.median(ordered), ordered[max(0, round(0.95 * len(ordered)) - 1)]


def measure(client, path: str) -> Figure:
    """p50 and p95 (medians over ROUNDS rounds) of uncached requests, in wall-clock time
    and in this process's CPU time (SQLite runs in-process, so that includes the database,
    and it is what other processes on a shared machine disturb least), and the queries of
    one request with the engine-liveness read included."""
    from django.core.cache import cache
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from statuspage.picture import monitoring

    walls: list[tuple[float, float]] = []
    cpus: list[tuple[float, float]] = []
    for _ in range(ROUNDS):
        wall, cpu = [], []
        for _ in range(REQUESTS):
            cache.clear()
            start, start_cpu = time.perf_counter(), time.process_time()
            response = client.get(path)
            wall.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
            assert response.status_code == 200, (path, response.status_code)
        walls.append(percentiles(wall))
        cpus.append(percentiles(cpu))
    cache.clear()
    monitoring.forget()
    with CaptureQueriesContext(connection) as queries:
        client.get(path)
    return Figure(
        statistics.median(w[0] for w in walls),
        statistics.median(w[1] for w in walls),
        statistics.median(c[0] for c in cpus),
        statistics.median(c[1] for c in cpus),
        len(queries),
    )


PATHS = [
    ("/ (the page)", "/"),
    ("/history", "/history"),
    ("/api/v2/incidents.json", "/api/v2/incidents.json"),
    ("/api/v2/summary.json", "/api/v2/summary.json"),
    ("/history.rss", "/history.rss"),
    ("/history.atom", "/history.atom"),
    ("/components/<id>/history.atom", "/components/{component}/history.atom"),
]


def measure_all(client) -> dict[str, Figure]:
    from statuspage.models import Component

    component = Component.objects.order_by("id").first().public_id
    return {label: measure(client, path.format(component=component)) for label, path in PATHS}


def main() -> None:
    components = int(sys.argv[1]) if len(sys.argv) > 1 else COMPONENTS
    incidents = int(sys.argv[2]) if len(sys.argv) > 2 else INCIDENTS
    with tempfile.TemporaryDirectory() as var_dir:
        setup_django(var_dir)
        from django.test import Client

        from statuspage import clock

        now = clock.now()
        beat_for_the_run(now)
        make_components(BASELINE_COMPONENTS, now - timedelta(days=2))
        client = Client(HTTP_HOST="127.0.0.1")
        baseline = measure_all(client)
        start = time.perf_counter()
        seed_history(now, components, incidents)
        seeded = time.perf_counter() - start
        year = measure_all(client)

    print(
        f"# public answers, uncached: {BASELINE_COMPONENTS} components and no history, then "
        f"{components} components, {HISTORY_DAYS} days of rollups, {incidents} incidents "
        f"(seeded in {seeded:.0f} s); {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"load average {os.getloadavg()[0]:.1f} at the end"
    )
    print(
        f"# p50/p95 of {REQUESTS} requests, median of {ROUNDS} rounds, in-process "
        "(Django test client, cache emptied before each request); wall-clock and CPU ms"
    )
    print(
        "| answer | baseline wall p50 / p95 | CPU p50 / p95 | queries "
        "| year wall p50 / p95 | CPU p50 / p95 | queries | CPU p95 ratio |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for label, _ in PATHS:
        b, y = baseline[label], year[label]
        print(
            f"| {label} | {ms(b.p50)} / {ms(b.p95)} | {ms(b.cpu50)} / {ms(b.cpu95)} "
            f"| {b.queries} | {ms(y.p50)} / {ms(y.p95)} | {ms(y.cpu50)} / {ms(y.cpu95)} "
            f"| {y.queries} | {y.cpu95 / b.cpu95:.1f} |"
        )


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


if __name__ == "__main__":
    main()
