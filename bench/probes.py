"""make bench-probes: how many checks per minute one engine process runs, stores and judges.

N HTTP probes (interval 10 s, timeout 5 s) against bench/probe_target.py on loopback, run
by the real Engine for a fixed time on a fresh database; then the naive baseline, one
synchronous `requests` call per check stored with the ORM, for a fixed time in the same run.
Several runs; the median is written to docs/BENCHMARKS.md by `--write`.

    python -m bench.probes [--probes 10000] [--seconds 60] [--runs 3] [--write]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import platform
import resource
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

TARGET_PORT = 8510
WARMUP = 10
ROOT = Path(__file__).resolve().parent.parent


def setup_django(var_dir: str) -> None:
    os.environ["STATUSPAGE_VAR_DIR"] = var_dir
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("LOG_LEVEL", "ERROR")
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    # Production settings, as an engine runs in production: DEBUG would log every query.
    os.environ.setdefault("DEBUG", "0")
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
    os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    if os.environ.get("DATABASE_URL"):
        call_command("flush", interactive=False, verbosity=0)  # a fresh database per run


def make_probes(count: int, interval: int, port: int = TARGET_PORT) -> None:
    """`count` HTTP probes of the loopback target on `port`, their first runs spread evenly
    over one interval from now."""
    from statuspage import clock
    from statuspage.models import Component, Probe

    components = Component.objects.bulk_create(
        Component(name=f"Service {i:03d}") for i in range(max(count // 100, 1))
    )
    start = clock.now() + timedelta(seconds=1)
    probes = (
        Probe(
            component=components[i % len(components)],
            name=f"target {i}",
            url=f"http://127.0.0.1:{port}/t/{i}",
            interval_seconds=interval,
            timeout_seconds=5,
            failures_to_confirm=2,
            successes_to_confirm=2,
            next_run_at=start + timedelta(seconds=interval * i / count),
        )
        for i in range(count)
    )
    Probe.objects.bulk_create(probes, batch_size=2000)


def run_engine(seconds: float, concurrency: int) -> dict:
    from django.conf import settings

    from statuspage.models import CheckResult
    from statuspage.probes.engine import Engine

    settings.ENGINE = {**settings.ENGINE, "HOUSEKEEPING": []}
    engine = Engine(settings.ENGINE["TICK_SECONDS"], concurrency)

    async def timed() -> None:
        asyncio.get_running_loop().call_later(seconds, engine.stop.set)
        await engine.run()

    from statuspage import clock

    began = clock.now()
    cpu0, wall0 = resource.getrusage(resource.RUSAGE_SELF), time.monotonic()
    asyncio.run(timed())
    wall = time.monotonic() - wall0
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    # Checks started in the steady window (after a warm-up, until the stop), all stored.
    window = (began + timedelta(seconds=WARMUP), began + timedelta(seconds=seconds))
    stored = CheckResult.objects.filter(checked_at__range=window).count()
    measured = seconds - WARMUP
    slips = sorted(engine.slips)
    return {
        "checks_per_min": round(stored / measured * 60),
        "stored_per_s": round(stored / measured, 1),
        "slip_p99_s": round(slips[int(0.99 * (len(slips) - 1))], 2) if slips else None,
        "cpu_percent": round(
            100 * ((cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)) / wall
        ),
        # CPU time the process spent per stored check: capacity on a core of its own.
        "cpu_ms_per_check": round(
            1000
            * ((cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime))
            / max(CheckResult.objects.count(), 1),
            2,
        ),
        "peak_rss_mb": round(cpu1.ru_maxrss / 1024),
        "wall_s": round(wall, 1),
    }


def run_naive(seconds: float, count: int) -> dict:
    """The baseline: one synchronous requests call per check, each result stored."""
    import requests

    from statuspage import clock
    from statuspage.models import CheckResult, Probe

    probes = list(Probe.objects.order_by("id")[:count])
    CheckResult.objects.all().delete()
    cpu0, wall0 = resource.getrusage(resource.RUSAGE_SELF), time.monotonic()
    done, session = 0, requests.Session()
    while time.monotonic() - wall0 < seconds:
        probe = probes[done % len(probes)]
        started = time.perf_counter()
        try:
            ok = session.get(probe.url, timeout=probe.timeout_seconds).status_code == 200
        except requests.RequestException:
            ok = False
        CheckResult.objects.create(
            probe=probe,
            checked_at=clock.now(),
            ok=ok,
            latency_ms=(time.perf_counter() - started) * 1000,
        )
        done += 1
    wall = time.monotonic() - wall0
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "checks_per_min": round(done / wall * 60),
        "cpu_percent": round(
            100 * ((cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)) / wall
        ),
    }


def one_run(args) -> dict:
    """A fresh database in a fresh process per run, so runs do not share caches or rows."""
    with tempfile.TemporaryDirectory() as var_dir:
        setup_django(var_dir)
        make_probes(args.probes, args.interval)
        engine = run_engine(args.seconds, args.concurrency)
        naive = run_naive(args.baseline_seconds, args.probes)
    return {"engine": engine, "naive": naive}


def median_of(runs: list[dict], side: str, key: str):
    values = [r[side][key] for r in runs if r[side].get(key) is not None]
    return statistics.median(values) if values else None


def machine() -> str:
    cpus = os.cpu_count()
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    load = os.getloadavg()[0]
    return f"{cpus} cores, {model}, Linux {platform.release()}, load average {load:.1f} at start"


def report(args, runs: list[dict], where: str) -> str:
    med = {k: median_of(runs, "engine", k) for k in runs[0]["engine"]}
    naive = median_of(runs, "naive", "checks_per_min")
    ratio = med["checks_per_min"] / naive if naive else float("inf")
    lines = [
        f"Command: `make bench-probes` (python -m bench.probes --probes {args.probes} "
        f"--seconds {args.seconds} --runs {args.runs})  ",
        f"Machine: {where}; database: {args.database}.  ",
        f"Median of {len(runs)} runs, each on a fresh database:",
        "",
        "| | checks/min | results stored/s | p99 schedule slip | CPU (1 core = 100%) | CPU per check | peak RSS |",
        "|---|---:|---:|---:|---:|---:|---:|",
        f"| engine (aiohttp, one process) | {med['checks_per_min']:,} | {med['stored_per_s']} | "
        f"{med['slip_p99_s']} s | {med['cpu_percent']}% | {med.get('cpu_ms_per_check')} ms | "
        f"{med['peak_rss_mb']} MB |",
        f"| naive baseline (requests, one call per check) | {naive:,} | {naive / 60:.1f} | - | "
        f"{median_of(runs, 'naive', 'cpu_percent')}% | - | - |",
        "",
        f"Ratio engine / baseline: **{ratio:,.0f}x**. Runs: `{json.dumps(runs)}`",
    ]
    return "\n".join(lines)


def write_section(text: str, probes: int, interval: int) -> None:
    """One section per fleet size, replaced on the next run of the same size."""
    path = ROOT / "docs" / "BENCHMARKS.md"
    begin, end = f"<!-- bench-probes-{probes}:begin -->", f"<!-- bench-probes-{probes}:end -->"
    current = path.read_text() if path.exists() else "# Benchmarks\n"
    demand = probes * 60 // interval
    title = f"### {probes:,} probes every {interval} s (demand {demand:,} checks/min)"
    block = f"{begin}\n{title}\n\n{text}\n{end}"
    if begin in current:
        current = current[: current.index(begin)] + block + current[current.index(end) + len(end) :]
    else:
        current = current.rstrip() + "\n\n" + block + "\n"
    path.write_text(current)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--probes", type=int, default=10_000)
    parser.add_argument("--interval", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--baseline-seconds", type=float, default=20)
    parser.add_argument("--concurrency", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--write", action="store_true")
    parser.add_argument("--one-run", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.database = (
        "PostgreSQL" if os.environ.get("DATABASE_URL") else "SQLite (WAL), the embedded default"
    )
    if args.one_run:
        print(json.dumps(one_run(args)))
        return
    from bench.probe_target import serve

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # so `finally` stops the target
    where = machine()
    server = multiprocessing.get_context("spawn").Process(
        target=serve, args=(TARGET_PORT,), daemon=True
    )
    server.start()
    time.sleep(1.5)  # let the target server bind its port
    runs = []
    try:
        for n in range(args.runs):
            out = subprocess.run(
                [sys.executable, "-m", "bench.probes", "--one-run", *sys.argv[1:]],
                cwd=ROOT,
                capture_output=True,
                text=True,
                check=True,
            )
            runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
            print(f"run {n + 1}: {runs[-1]}", flush=True)
    finally:
        server.terminate()
    text = report(args, runs, where)
    print(text)
    if args.write:
        write_section(text, args.probes, args.interval)


if __name__ == "__main__":
    main()
