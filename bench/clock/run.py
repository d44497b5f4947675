"""How long one escalation-clock tick takes with many open incidents.

The clock must tick every 15 s or faster from the engine's housekeeping (every 5 s), so a
tick over all open incidents has to stay far below that. Measures, on a throwaway SQLite
database (or DATABASE_URL if set), the median of several ticks:
  quiet: nothing is due (the common case, every 5 s);
  busy:  one step falls due for every incident at once (T+10 min: subscribers);
against a baseline measured in the same run: one query listing the open incidents.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("STATUSPAGE_VAR_DIR", tempfile.mkdtemp(prefix="bench-clock-"))
os.environ.setdefault("LOG_LEVEL", "WARNING")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import transaction  # noqa: E402
from django.utils import timezone  # noqa: E402
from django_q.brokers import get_broker  # noqa: E402

from incidents.models import Incident  # noqa: E402
from incidents.response import clock, workflow  # noqa: E402
from statuspage.models import Audience, Component, Probe, ProbeState, Verdict  # noqa: E402

RUNS = int(os.environ.get("BENCH_RUNS", "5"))
SIZES = [int(n) for n in os.environ.get("BENCH_INCIDENTS", "50,200").split(",")]


def open_incidents(count: int, now) -> None:
    audience, _ = Audience.objects.get_or_create(
        slug="app", defaults={"name": "App", "push_topic": "app"}
    )
    for n in range(count):
        component = Component.objects.create(name=f"Component {count}-{n}", advice="Use a meter.")
        component.audiences.add(audience)
        probe = Probe.objects.create(
            component=component,
            name="health",
            url="http://127.0.0.1:1/",
            state=ProbeState.DOWN,
            first_failure_at=now,
        )
        workflow.handle_verdict(probe, Verdict.CONFIRMED_DOWN, now)


def reset() -> None:
    with transaction.atomic():
        Incident.objects.all().delete()
        Component.objects.all().delete()


def median_ms(func, runs: int) -> float:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        func()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def measure(count: int) -> dict:
    now = timezone.now().replace(microsecond=0)
    reset()
    open_incidents(count, now)
    get_broker().purge_queue()
    baseline = median_ms(lambda: list(Incident.objects.incidents().unresolved()), RUNS)
    quiet = median_ms(lambda: clock.tick(now + timedelta(minutes=1)), RUNS)
    busy_samples = []
    for _ in range(RUNS):
        # Each run is a fresh set of incidents whose T+10 step falls due in the measured tick.
        reset()
        open_incidents(count, now)
        clock.tick(now + timedelta(minutes=9))
        started = time.perf_counter()
        clock.tick(now + timedelta(minutes=10))
        busy_samples.append((time.perf_counter() - started) * 1000)
        get_broker().purge_queue()
    busy = statistics.median(busy_samples)
    return {"incidents": count, "baseline_ms": baseline, "quiet_ms": quiet, "busy_ms": busy}


def main() -> None:
    call_command("migrate", verbosity=0)
    print(f"database: {django.db.connection.vendor}; runs per figure: {RUNS} (median)")
    print(
        "| open incidents | baseline: list open incidents | quiet tick | ratio | busy tick (a step due for each) | ratio |"
    )
    print("|---:|---:|---:|---:|---:|---:|")
    for count in SIZES:
        r = measure(count)
        print(
            f"| {r['incidents']} | {r['baseline_ms']:.1f} ms | {r['quiet_ms']:.1f} ms | "
            f"{r['quiet_ms'] / r['baseline_ms']:.0f}x | {r['busy_ms']:.0f} ms | "
            f"{r['busy_ms'] / r['baseline_ms']:.0f}x |"
        )


if __name__ == "__main__":
    main()
