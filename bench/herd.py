"""`make bench-herd`: the outage rush. wrk against the served stack, all in one run:

- the app under gunicorn (config/gunicorn_conf.py, DEBUG=0) in `make run`'s process group
  (engine, tasks, sandbox and demo service beside it): banner.json for the follow
  app, summary.json, the page, and a 304 revalidation of summary.json (If-None-Match);
- the same four through the nginx front (deploy/nginx/);
- two ceilings: a constant-bytes Django view under the same gunicorn and middleware
  (bench/herd_site/), and nginx serving a static file (the snapshot's page, same bytes).

Each answer: requests/s, p50, p99, errors (non-2xx/3xx and socket errors) and database
queries per request (the app's `statuspage_web_db_queries_total` for the route, read from
/metrics before and after, over the requests wrk made). Median of --runs runs of --seconds.
The data: `manage.py demo setup` (what `make run` shows: three components, the follow app)
on SQLite in var/bench-herd/ unless BENCH_DATABASE_URL is given; REDIS_URL passes through.

    .venv/bin/python -m bench.herd [--runs 3] [--seconds 5] [--connections 64] [--write]

Ports: BENCH_HERD_PORT (default 18220) for the app, +1 nginx, +2 sandbox, +3 demo service.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from deploy.nginx.front import Front, FrontConfig, port_answers

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "var" / "bench-herd"
DOC = ROOT / "docs" / "BENCHMARKS.md"
CHART = ROOT / "docs" / "bench-herd.png"
BEGIN, END = "<!-- bench-herd:begin -->", "<!-- bench-herd:end -->"
BANNER = "/api/v1/banner.json?audience=follow-app"
SUMMARY = "/api/v2/summary.json"


@dataclass(frozen=True)
class Target:
    label: str
    via: str  # "app" or "nginx"
    path: str
    route: str | None  # the app's route label, for queries per request
    revalidate: bool = False


TARGETS = [
    Target("ceiling: constant bytes, Django", "app", "/bench/constant", "/bench/constant"),
    Target("ceiling: static file, nginx", "nginx", "/_snapshot/index.html", None),
    Target("banner.json (follow-app)", "app", BANNER, "/api/v1/banner.json"),
    Target("summary.json", "app", SUMMARY, "/api/v2/summary.json"),
    Target("the page /", "app", "/", "/"),
    Target("summary.json 304", "app", SUMMARY, "/api/v2/summary.json", revalidate=True),
    Target("banner.json (follow-app)", "nginx", BANNER, "/api/v1/banner.json"),
    Target("summary.json", "nginx", SUMMARY, "/api/v2/summary.json"),
    Target("the page /", "nginx", "/", "/"),
    Target("summary.json 304", "nginx", SUMMARY, "/api/v2/summary.json", revalidate=True),
]


def bench_env(port: int) -> dict[str, str]:
    WORK.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k != "SANDBOX_URL"}
    env.update(
        DEBUG="0",
        DJANGO_SETTINGS_MODULE="bench.herd_site.settings",
        SECRET_KEY=os.environ.get("SECRET_KEY") or "bench-herd-" + "k" * 40,
        ALLOWED_HOSTS="127.0.0.1,localhost",
        SECURE_SSL_REDIRECT="0",
        STATUSPAGE_VAR_DIR=str(WORK / "var"),
        STATIC_ROOT=str(WORK / "static"),
        STATUS_SNAPSHOT_DIR=str(WORK / "snapshot"),
        PROMETHEUS_MULTIPROC_DIR=str(WORK / "metrics"),
        DATABASE_URL=os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{WORK}/herd.sqlite3",
        LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
        PORT=str(port),
        SANDBOX_PORT=str(port + 2),
        DEMO_SERVICE_PORT=str(port + 3),
    )
    return env


def manage(env: dict[str, str], *args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True)


def prepare(env: dict[str, str]) -> None:
    for name in ("snapshot", ".snapshot.versions", "metrics", "nginx", "cache"):
        shutil.rmtree(WORK / name, ignore_errors=True)
    manage(env, "migrate", "--noinput", "--verbosity", "0")
    manage(env, "collectstatic", "--noinput", "--verbosity", "0")
    manage(env, "demo", "setup")
    manage(env, "publish_snapshot")
    manage(env, "metrics_reset")


def start_app(env: dict[str, str], port: int, workers: int) -> subprocess.Popen:
    """`make run`'s process group (web under gunicorn, engine, tasks, sandbox, demo service),
    so monitoring is alive as it is for a new user, on ports next to `port`."""
    argv = [sys.executable, "manage.py", "runall", "--port", str(port)]
    argv += ["--workers", str(workers)] if workers else []
    log = (WORK / "app.log").open("w")
    process = subprocess.Popen(
        argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    deadline = time.monotonic() + 90
    while not monitoring_alive(f"http://127.0.0.1:{port}"):
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"the app did not start; see {WORK / 'app.log'}")
        time.sleep(0.5)
    return process


def monitoring_alive(base: str) -> bool:
    """The engine has beaten: the answers are the everyday ones, not "status unknown"."""
    if not port_answers(base.removeprefix("http://")):
        return False
    with urllib.request.urlopen(f"{base}/api/v1/banner.json", timeout=30) as reply:
        return not json.loads(reply.read())["monitoring_interrupted"]


def fetch(url: str, **headers: str) -> tuple[int, dict[str, str]]:
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as reply:
            reply.read()
            return reply.status, dict(reply.headers)
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers)


def route_counts(app: str) -> dict[str, tuple[float, float]]:
    """(requests, queries) per route, from the app's /metrics."""
    with urllib.request.urlopen(f"{app}/metrics", timeout=30) as reply:
        text = reply.read().decode()
    counts: dict[str, list[float]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "statuspage_web_requests_total":
                counts.setdefault(sample.labels["route"], [0, 0])[0] = sample.value
            elif sample.name == "statuspage_web_db_queries_total":
                counts.setdefault(sample.labels["route"], [0, 0])[1] = sample.value
    return {route: (r, q) for route, (r, q) in counts.items()}


UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def milliseconds(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()  # type: ignore[union-attr]
    return float(number) * UNITS[unit]


def wrk(url: str, seconds: int, connections: int, headers: list[str]) -> dict[str, float]:
    argv = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "10s"]
    for header in headers:
        argv += ["-H", header]
    out = subprocess.run([*argv, url], capture_output=True, text=True, check=True).stdout
    latency = dict(re.findall(r"^\s+(50|99)(?:\.000)?%\s+(\S+)\s*$", out, re.M))
    if set(latency) != {"50", "99"}:
        raise SystemExit(f"wrk said something unexpected for {url}:\n{out}")
    sockets = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    )
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
        "requests": float(re.search(r"(\d+) requests in", out).group(1)),  # type: ignore[union-attr]
        "p50": milliseconds(latency["50"]),
        "p99": milliseconds(latency["99"]),
        "errors": float(
            (int(bad.group(1)) if bad else 0) + sum(map(int, sockets.groups()) if sockets else [])
        ),
    }


def measure(
    target: Target, bases: dict[str, str], seconds: int, connections: int
) -> dict[str, float]:
    """One wrk run of one target, with the app's queries per request over it."""
    url = bases[target.via] + target.path
    headers: list[str] = []
    status, answer = fetch(url)
    if target.revalidate:
        headers.append(f"If-None-Match: {answer['ETag']}")
        status, _ = fetch(url, **{"If-None-Match": answer["ETag"]})
    before = route_counts(bases["app"])
    figures = wrk(url, seconds, connections, headers)
    after = route_counts(bases["app"])
    figures["status"] = status
    if target.route is not None:
        served, queries = (
            after.get(target.route, (0, 0))[n] - before.get(target.route, (0, 0))[n] for n in (0, 1)
        )
        # Through nginx most requests never reach the app: per request the front answered.
        figures["queries"] = queries / max(
            served if target.via == "app" else figures["requests"], 1
        )
    return figures


def median_of(runs: list[dict[str, float]]) -> dict[str, float]:
    return {key: statistics.median(run[key] for run in runs) for key in runs[0]}


def run_all(args: argparse.Namespace) -> dict[Target, dict[str, float]]:
    port = int(os.environ.get("BENCH_HERD_PORT", "18220"))
    env = bench_env(port)
    prepare(env)
    app = start_app(env, port, args.workers)
    config = FrontConfig(
        listen=f"127.0.0.1:{port + 1}",
        upstream=f"127.0.0.1:{port}",
        snapshot_dir=WORK / "snapshot",
        cache_dir=WORK / "cache",
    )
    front = Front(config, WORK / "nginx", workers=str(args.nginx_workers))
    bases = {"app": f"http://127.0.0.1:{port}", "nginx": f"http://127.0.0.1:{port + 1}"}
    runs: dict[Target, list[dict[str, float]]] = {target: [] for target in TARGETS}
    try:
        front.start()
        for target in TARGETS:  # warm every worker's imports and templates
            measure(target, bases, 1, args.connections)
        for number in range(args.runs):
            for target in TARGETS:
                runs[target].append(measure(target, bases, args.seconds, args.connections))
                print(f"run {number + 1}: {target.via:5} {target.label}: {runs[target][-1]}")
    finally:
        front.stop()
        app.send_signal(signal.SIGTERM)
        app.wait(timeout=60)
    return {target: median_of(figures) for target, figures in runs.items()}


def machine() -> str:
    load = os.getloadavg()
    nginx = subprocess.run(["/usr/sbin/nginx", "-v"], capture_output=True, text=True).stderr
    return (
        f"{os.cpu_count()}-core {platform.machine()}, {platform.system()} "
        f"{platform.release()}, Python {platform.python_version()}, "
        f"{nginx.strip().split(': ')[-1]}, load average before the run "
        f"{load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}"
    )


def table(results: dict[Target, dict[str, float]]) -> str:
    ceiling = {t.via: f["rps"] for t, f in results.items() if t.label.startswith("ceiling")}
    lines = [
        "| via | answer | req/s | share of its ceiling | p50 ms | p99 ms | errors | queries/request |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for target, f in results.items():
        share = f["rps"] / ceiling[target.via] if ceiling.get(target.via) else 0
        queries = f"{f['queries']:.2f}" if "queries" in f else "–"
        lines.append(
            f"| {target.via} | {target.label} | {f['rps']:,.0f} | {share:.0%} | "
            f"{f['p50']:.1f} | {f['p99']:.1f} | {f['errors']:.0f} | {queries} |"
        )
    return "\n".join(lines)


def chart(results: dict[Target, dict[str, float]], path: Path) -> None:
    import matplotlib  # only when writing the chart: it is a test requirement, not a runtime one

    matplotlib.use("Agg")
    from matplotlib import pyplot

    answers = [t for t in results if not t.label.startswith("ceiling")]
    ceilings = {t.via: (t.label, f["rps"]) for t, f in results.items() if t not in answers}
    labels = [f"{t.label}\nvia {t.via}" for t in answers]
    figure, axes = pyplot.subplots(figsize=(11, 5.5))
    colours = {"app": "#4c72b0", "nginx": "#55a868"}
    axes.bar(labels, [results[t]["rps"] for t in answers], color=[colours[t.via] for t in answers])
    for via, style in (("app", "--"), ("nginx", ":")):
        label, rps = ceilings[via]
        axes.axhline(rps, color=colours[via], linestyle=style, label=f"{label} ({rps:,.0f})")
    axes.set_ylabel("requests/s (median)")
    axes.set_yscale("log")
    axes.set_title("make bench-herd: req/s per answer against the two ceilings")
    axes.legend(loc="upper left", fontsize=8)
    pyplot.setp(axes.get_xticklabels(), fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=100)


def write(text: str) -> None:
    current = DOC.read_text()
    block = f"{BEGIN}\n{text}\n{END}"
    if BEGIN in current:
        head, rest = current.split(BEGIN, 1)
        current = head + block + rest.split(END, 1)[1]
    else:
        current = current.rstrip() + f"\n\n## The outage rush (`make bench-herd`)\n\n{block}\n"
    DOC.write_text(current)


def report(results: dict[Target, dict[str, float]], args: argparse.Namespace, where: str) -> str:
    command = (
        f"`make bench-herd` (= `python -m bench.herd --runs {args.runs} --seconds {args.seconds} "
        f"--connections {args.connections} --write`), wrk -t2 -c{args.connections}, "
        f"gunicorn workers: {args.workers or 'default (2 x cores + 1)'}, "
        f"nginx workers: {args.nginx_workers}"
    )
    return "\n".join(
        [
            f"Command: {command}.",
            f"Machine: {where}.",
            f"Median of {args.runs} runs of {args.seconds} s each per answer; "
            "every answer and both ceilings measured in the same run.",
            "",
            table(results),
            "",
            "![req/s per answer against the two ceilings](bench-herd.png)",
        ]
    )


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.herd", description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--workers", type=int, default=0, help="gunicorn workers")
    parser.add_argument("--nginx-workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--write", action="store_true", help="docs/BENCHMARKS.md and the chart")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    where = machine()
    results = run_all(args)
    text = report(results, args, where)
    print(text)
    (WORK / "results.json").write_text(
        json.dumps([{"via": t.via, "answer": t.label, **f} for t, f in results.items()], indent=1)
    )
    if args.write:
        chart(results, CHART)
        write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
