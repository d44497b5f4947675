"""make bench-probes, second part: one engine against two on PostgreSQL, and the ceiling.

For each fleet size of a ladder (HTTP probes every 10 s against bench/probe_target.py on
loopback), K engine processes (K = 1, then 2) run the real Engine on one PostgreSQL database.
Per step: the engines start and register, the fleet is created, 10 s of warm-up, then a
measured window. Reported per step: results stored per minute, the target's own count of
checks per expected check (1.00 = each check once), the p99 schedule slip of the worst
engine, the engines' CPU and the whole machine's. A ladder stops once p99 slip passes 2 s:
the step before is that engine count's capacity ("checks/min at p99 slip < 2 s"). Beside
it, measured in the same run: the raw aiohttp loopback ceiling (one and two client
processes hammering the same target, no database), what any engine count could reach here.

    python -m bench.probes_cluster [--ladder 3000,4000,5000,6000] [--seconds 30] [--write]
    python -m bench.probes_cluster --takeover 5 [--heartbeat 10]   # seconds to lease takeover

The database is BENCH_DATABASE_URL (default: the statuspage_bench_probes database on
127.0.0.1), created if missing and flushed before each step.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import resource
import secrets
import signal
import subprocess
import sys
import time
from collections import deque
from pathlib import Path
from urllib.parse import urlsplit

from bench.probes import make_probes

ROOT = Path(__file__).resolve().parent.parent
TARGET_PORT = 8511
INTERVAL = 10
WARMUP = 10.0
SLIP_LIMIT = 2.0
CONCURRENCY = 2000
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/statuspage_bench_probes"


def environment(url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": url,
        "REDIS_URL": "",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DJANGO_ALLOW_ASYNC_UNSAFE": "true",
        "DEBUG": "0",
        "SECRET_KEY": os.environ.get("SECRET_KEY") or secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1",
        "LOG_LEVEL": "ERROR",
        "ENGINE_HEARTBEAT_SECONDS": "2",
    }


def create_database(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def setup_django() -> None:
    import django

    django.setup()


# --- An engine process ----------------------------------------------------------------


def engine_process() -> None:
    """The real Engine without housekeeping (as bench.probes runs it). SIGUSR1 opens the
    measured window (slips and CPU counted from there); SIGTERM stops it and prints JSON."""
    setup_django()
    from django.conf import settings

    from statuspage.probes.engine import Engine

    settings.ENGINE = {**settings.ENGINE, "HOUSEKEEPING": []}
    engine = Engine(settings.ENGINE["TICK_SECONDS"], CONCURRENCY)
    engine.slips = deque(maxlen=10_000_000)  # every claim of the window, for the p99 and count
    window: dict = {}

    def open_window() -> None:
        engine.slips.clear()
        window["cpu"] = cpu_seconds()
        window["wall"] = time.monotonic()

    async def serve() -> None:
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGUSR1, open_window)
        loop.add_signal_handler(signal.SIGTERM, engine.stop.set)
        await engine.run()

    asyncio.run(serve())
    wall = time.monotonic() - window.get("wall", time.monotonic())
    slips = sorted(engine.slips)
    print(
        json.dumps(
            {
                "slip_p99_s": round(slips[int(0.99 * (len(slips) - 1))], 2) if slips else None,
                "claimed": len(slips),
                "cpu_percent": round(100 * (cpu_seconds() - window.get("cpu", 0)) / wall)
                if wall
                else None,
            }
        ),
        flush=True,
    )


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# --- The raw ceiling: aiohttp clients and the target, no database ----------------------


def raw_client(seconds: float, probes: int, out) -> None:
    import aiohttp

    async def hammer() -> int:
        done, n = 0, 0
        deadline = time.monotonic() + seconds
        timeout = aiohttp.ClientTimeout(total=5)
        connector = aiohttp.TCPConnector(limit=CONCURRENCY)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

            async def worker() -> None:
                nonlocal done, n
                while time.monotonic() < deadline:
                    n += 1
                    try:
                        async with session.get(
                            f"http://127.0.0.1:{TARGET_PORT}/t/{n % probes}"
                        ) as response:
                            await response.read()
                    except (aiohttp.ClientError, TimeoutError):
                        pass
                    done += 1

            await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        return done

    out.put(asyncio.run(hammer()))


def raw_ceiling(clients: int, seconds: float, probes: int) -> int:
    """Requests per minute the target answered to `clients` aiohttp processes."""
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    procs = [ctx.Process(target=raw_client, args=(seconds, probes, out)) for _ in range(clients)]
    for p in procs:
        p.start()
    total = sum(out.get(timeout=seconds + 60) for _ in procs)
    for p in procs:
        p.join()
    return round(total / seconds * 60)


# --- One step of the ladder -----------------------------------------------------------


def target_hits() -> int:
    import requests

    return requests.get(f"http://127.0.0.1:{TARGET_PORT}/_hits", timeout=5).json()["hits"]


def machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    fields = [float(x) for x in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


def process_cpu(pid: int) -> float:
    """utime + stime of a process, in seconds."""
    stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (float(stat[11]) + float(stat[12])) / os.sysconf("SC_CLK_TCK")


def make_fleet(count: int) -> None:
    make_probes(count, INTERVAL, port=TARGET_PORT)


def step(engines: int, probes: int, seconds: float, env: dict, target_pid: int) -> dict:
    from django.core.management import call_command
    from django.db import connection

    from statuspage import clock
    from statuspage.models import CheckResult, EngineNode

    call_command("flush", interactive=False, verbosity=0)
    connection.close()
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "bench.probes_cluster", "--engine-process"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(engines)
    ]
    try:
        deadline = time.monotonic() + 120
        while EngineNode.objects.filter(stopped_at__isnull=True).count() < engines:
            if time.monotonic() > deadline:
                raise RuntimeError("the engines did not start")
            time.sleep(0.2)
        make_fleet(probes)
        time.sleep(WARMUP)
        for p in procs:
            p.send_signal(signal.SIGUSR1)
        began, hits0 = clock.now(), target_hits()
        busy0, target0 = machine_busy(), process_cpu(target_pid)
        time.sleep(seconds)
        hits = target_hits() - hits0
        busy1, target1 = machine_busy(), process_cpu(target_pid)
        ended = clock.now()
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        reports = [json.loads(p.communicate(timeout=60)[0].strip().splitlines()[-1]) for p in procs]
    stored = CheckResult.objects.filter(checked_at__range=(began, ended)).count()
    expected = probes * seconds / INTERVAL
    slips = [r["slip_p99_s"] for r in reports if r["slip_p99_s"] is not None]
    return {
        "engines": engines,
        "probes": probes,
        "demand_per_min": probes * 60 // INTERVAL,
        "checks_per_min": round(stored / seconds * 60),
        "target_checks_per_expected": round(hits / expected, 3),
        "slip_p99_s": max(slips) if slips else None,
        "engine_cpu_percent": [r["cpu_percent"] for r in reports],
        "target_cpu_percent": round(100 * (target1 - target0) / seconds),
        "machine_busy_percent": round(100 * (busy1[0] - busy0[0]) / (busy1[1] - busy0[1])),
        "claimed_share": [r["claimed"] for r in reports],
    }


def ladder(engines: int, sizes: list[int], seconds: float, env: dict, target_pid: int) -> list:
    steps = []
    for probes in sizes:
        result = step(engines, probes, seconds, env, target_pid)
        print(json.dumps(result), flush=True)
        steps.append(result)
        if result["slip_p99_s"] is None or result["slip_p99_s"] >= SLIP_LIMIT:
            break  # past the ceiling: larger fleets only slip more
    return steps


def capacity(steps: list[dict]) -> dict | None:
    """The step with the most checks/min whose p99 slip stayed under the limit."""
    good = [s for s in steps if s["slip_p99_s"] is not None and s["slip_p99_s"] < SLIP_LIMIT]
    return max(good, key=lambda s: s["checks_per_min"]) if good else None


# --- Lease takeover: SIGKILL the leader, time until another engine holds the lease -----


def takeover(kills: int, heartbeat: float, env: dict) -> list[float]:
    """Two engines (`manage.py engine`, housekeeping on) and a small fleet; `kills` times:
    SIGKILL the lease holder, time until the other holds it, start a replacement."""
    from django.core.management import call_command
    from django.db import connection

    from statuspage import clock
    from statuspage.models import EngineNode, Lease

    env = {**env, "ENGINE_HEARTBEAT_SECONDS": str(heartbeat)}
    call_command("flush", interactive=False, verbosity=0)
    connection.close()
    make_fleet(200)

    def start() -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "manage.py", "engine"], cwd=ROOT, env=env)

    def holder() -> EngineNode | None:
        name = Lease.holder_of(Lease.HOUSEKEEPING, clock.now())
        return EngineNode.from_holder_name(name) if name else None

    def wait(condition, what: str):
        deadline = time.monotonic() + 120
        while not (found := condition()):
            if time.monotonic() > deadline:
                raise RuntimeError(f"no {what}")
            time.sleep(0.05)
        return found

    procs = {p.pid: p for p in (start(), start())}
    seconds = []
    try:
        for _ in range(kills):
            wait(lambda: len(EngineNode.alive(clock.now())) == 2, "two live engines")
            leader = wait(holder, "lease holder")
            procs.pop(leader.pid).kill()
            killed = time.monotonic()
            gone = leader.pid
            wait(lambda: (h := holder()) is not None and h.pid != gone, "takeover")  # noqa: B023
            seconds.append(round(time.monotonic() - killed, 2))
            print(f"lease taken over {seconds[-1]} s after SIGKILL", flush=True)
            replacement = start()
            procs[replacement.pid] = replacement
    finally:
        for p in procs.values():
            p.terminate()
        for p in procs.values():
            p.wait(30)
    return seconds


# --- Report ---------------------------------------------------------------------------


def report(args, results: dict, raw: dict, where: str) -> str:
    one, two = capacity(results.get("1", [])), capacity(results.get("2", []))
    ratio = two["checks_per_min"] / one["checks_per_min"] if one and two else None
    rows = [
        "| engines | probes (demand/min) | checks/min stored | checks per expected check "
        "(target) | p99 slip | engines' CPU | target CPU | machine busy |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for key in ("1", "2"):
        for s in results.get(key, []):
            rows.append(
                f"| {s['engines']} | {s['probes']:,} ({s['demand_per_min']:,}) | "
                f"{s['checks_per_min']:,} | {s['target_checks_per_expected']:.2f} | "
                f"{s['slip_p99_s']} s | {' + '.join(f'{c}%' for c in s['engine_cpu_percent'])} | "
                f"{s['target_cpu_percent']}% | {s['machine_busy_percent']}% |"
            )

    def cap(c: dict | None) -> str:
        if not c:
            return "none under the limit"
        return f"{c['checks_per_min']:,} checks/min ({c['probes']:,} probes)"

    lines = [
        f"Command: `make bench-probes` (python -m bench.probes_cluster --ladder "
        f"{','.join(str(n) for n in args.ladder)} --seconds {args.seconds:g})  ",
        f"Machine: {where}; database: PostgreSQL on 127.0.0.1; each step on a fresh database, "
        f"{WARMUP:g} s warm-up, {args.seconds:g} s measured.",
        "",
        *rows,
        "",
        f"Capacity at p99 slip < {SLIP_LIMIT:g} s: one engine {cap(one)}; two engines "
        f"{cap(two)}" + (f"; ratio **{ratio:.2f}x**." if ratio else "."),
        "",
        f"Raw aiohttp loopback ceiling in the same run (no database, same target and "
        f"concurrency): one client process {raw['1']:,} requests/min, two "
        f"{raw['2']:,} requests/min.",
        "",
        f"Runs: `{json.dumps({'steps': results, 'raw': raw})}`",
    ]
    return "\n".join(lines)


def write_section(text: str) -> None:
    path = ROOT / "docs" / "BENCHMARKS.md"
    begin, end = "<!-- bench-probes-cluster:begin -->", "<!-- bench-probes-cluster:end -->"
    current = path.read_text()
    block = f"{begin}\n### Two engines against one on PostgreSQL, and the ceiling\n\n{text}\n{end}"
    if begin in current:
        current = current[: current.index(begin)] + block + current[current.index(end) + len(end) :]
    else:
        anchor = "<!-- bench-probes-10000:begin -->"
        current = current.replace(anchor, block + "\n\n" + anchor, 1)
    path.write_text(current)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--ladder", default="3000,4000,4500,5000,5500,6000,7000,7500,8000,9000")
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--raw-seconds", type=float, default=10)
    parser.add_argument("--engines", default="1,2")
    parser.add_argument("--write", action="store_true")
    parser.add_argument("--takeover", type=int, default=0, help="only time N lease takeovers")
    parser.add_argument("--heartbeat", type=float, default=10)
    parser.add_argument("--engine-process", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.engine_process:
        engine_process()
        return
    args.ladder = [int(n) for n in args.ladder.split(",")]
    url = os.environ.get("BENCH_DATABASE_URL") or DEFAULT_URL
    create_database(url)
    env = environment(url)
    os.environ.update({k: v for k, v in env.items() if k != "PATH"})
    setup_django()
    from django.core.management import call_command

    from bench.probe_target import serve
    from bench.probes import machine

    call_command("migrate", verbosity=0)
    if args.takeover:
        seconds = sorted(takeover(args.takeover, args.heartbeat, env))
        median = seconds[len(seconds) // 2]
        print(
            f"heartbeat {args.heartbeat:g} s: lease taken over after {seconds} s, median "
            f"{median} s = {median / args.heartbeat:.2f} heartbeats"
        )
        return
    where = machine()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # so `finally` stops the target
    server = multiprocessing.get_context("spawn").Process(
        target=serve, args=(TARGET_PORT,), daemon=True
    )
    server.start()
    time.sleep(1.5)
    try:
        raw = {str(k): raw_ceiling(k, args.raw_seconds, max(args.ladder)) for k in (1, 2)}
        print(f"raw aiohttp ceiling: {raw}", flush=True)
        results = {
            key: ladder(int(key), args.ladder, args.seconds, env, server.pid)
            for key in args.engines.split(",")
        }
    finally:
        server.terminate()
    text = report(args, results, raw, where)
    print(text)
    if args.write:
        write_section(text)


if __name__ == "__main__":
    main()
