"""Benchmark: how fast the public site answers, and what revalidation saves.

Seeds a page with N components (90 days of uptime rollups, a day of check results) and 60
incidents, then times each public answer in-process through Django's full middleware stack
(no network, so the figures are the app's own cost) with the answer store off, so each
request renders (what a reader costs when nothing is stored; `make bench-answers` measures
what the store saves). Each figure is the median of ROUNDS
rounds of REQUESTS requests; the baseline is /widget/banner.js, the cheapest dynamic answer
(a template, no database), measured in the same run.

    make bench-public            # or: .venv/bin/python bench/public_site.py [components]
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROUNDS = 5
REQUESTS = 20


def setup_django(var_dir: str, database_url: str = "", **environ: str) -> None:
    """Django on a database of the run's own (SQLite in `var_dir` unless `database_url`),
    migrated; `environ` sets further variables before the settings are read."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ["STATUSPAGE_VAR_DIR"] = var_dir
    os.environ["DATABASE_URL"] = database_url or f"sqlite:///{var_dir}/bench.sqlite3"
    os.environ.update(environ)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ["LOG_LEVEL"] = "WARNING"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def seed(components: int) -> None:
    from incidents.response import workflow
    from statuspage import clock
    from statuspage.models import CheckResult, Component, ComponentGroup, Probe
    from statuspage.picture.uptime import DAYS_SHOWN, local_day, rollup

    now = clock.now()
    group = ComponentGroup.objects.create(name="Cloud")
    created = now - timedelta(days=DAYS_SHOWN + 1)
    for n in range(components):
        component = Component.objects.create(name=f"Component {n}", group=group)
        Component.objects.filter(id=component.id).update(created_at=created)
        probe = Probe.objects.create(component=component, name="health", url="http://127.0.0.1:1/")
        CheckResult.objects.bulk_create(
            CheckResult(
                probe=probe,
                checked_at=now - timedelta(minutes=10 * k),
                ok=True,
                latency_ms=50 + k % 7,
            )
            for k in range(144)
        )
    targets = list(Probe.objects.select_related("component"))
    for k in range(60):
        probe = targets[k % len(targets)]
        probe.first_failure_at = now - timedelta(days=k, hours=2)
        incident = workflow.open_for_probe(probe, now - timedelta(days=k, hours=2))
        if k:
            workflow.resolve(incident, now - timedelta(days=k, hours=1))
    rollup(local_day(now) - timedelta(days=DAYS_SHOWN - 1), local_day(now), now)


def timed(client, path: str, clock=time.perf_counter, requests: int = REQUESTS, **headers) -> float:
    """Median seconds per request over ROUNDS rounds, read on `clock` (wall-clock by
    default; time.process_time for CPU time)."""
    rounds = []
    for _ in range(ROUNDS):
        start = clock()
        for _ in range(requests):
            response = client.get(path, **headers)
            assert response.status_code in (200, 304), (path, response.status_code)
        rounds.append((clock() - start) / requests)
    return statistics.median(rounds)


def main() -> None:
    components = int(sys.argv[1]) if len(sys.argv) > 1 else 30
    with tempfile.TemporaryDirectory() as var_dir:
        setup_django(var_dir, ANSWERS_STORE="0")
        seed(components)
        from django.test import Client

        from statuspage.models import Component

        client = Client(HTTP_HOST="127.0.0.1")
        public_id = Component.objects.first().public_id
        etag = client.get("/api/v2/summary.json")["ETag"]
        cases = [
            ("baseline: /widget/banner.js", "/widget/banner.js", {}),
            ("/api/v2/summary.json", "/api/v2/summary.json", {}),
            ("/api/v2/summary.json, 304", "/api/v2/summary.json", {"HTTP_IF_NONE_MATCH": etag}),
            ("/api/v2/incidents.json (50)", "/api/v2/incidents.json", {}),
            ("/api/v1/banner.json", "/api/v1/banner.json", {}),
            ("/ (page, 90 bars each)", "/", {}),
            ("/history", "/history", {}),
            ("/history.atom", "/history.atom", {}),
            ("/badges/<id>/uptime.svg", f"/badges/{public_id}/uptime.svg", {}),
        ]
        results = [(label, timed(client, path, **headers)) for label, path, headers in cases]
        from statuspage.public.snapshot import publish

        snapshot = []
        for _ in range(3):
            start = time.perf_counter()
            publish(Path(var_dir) / "public")
            snapshot.append(time.perf_counter() - start)

    base = results[0][1]
    print(
        f"# public site, {components} components, 60 incidents; "
        f"{platform.processor() or platform.machine()}, Python {platform.python_version()}"
    )
    print(f"# median of {ROUNDS} rounds x {REQUESTS} requests, in-process (Django test client)")
    print("| answer | ms per request | requests/s | x baseline |")
    print("|---|---:|---:|---:|")
    for label, seconds in results:
        print(f"| {label} | {seconds * 1000:.2f} | {1 / seconds:.0f} | {seconds / base:.1f} |")
    print(
        f"| full static snapshot (publish_snapshot) | {statistics.median(snapshot) * 1000:.0f}"
        " | - | - |"
    )


if __name__ == "__main__":
    main()
