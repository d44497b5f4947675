"""What the cluster scenarios share: where the cluster's services are, a loopback target
that counts checks, the cluster database read directly, polling with a deadline, figures.

The scenarios run real processes (deploy.cluster) against a database of their own
(`test_<name>_cluster` beside DATABASE_URL's, or CLUSTER_TEST_DATABASE_URL) and a Redis
database of their own (5, or CLUSTER_TEST_REDIS_URL); nothing here touches the pytest
process's test database.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import psycopg.sql
import requests
from aiohttp import web

from deploy.cluster.launcher import ROOT, Cluster, ClusterConfig, Node, haproxy_binary

FIGURES = Path(os.environ.get("CLUSTER_FIGURES", ROOT / "var" / "cluster" / "figures.json"))
BASE_PORT = int(os.environ.get("CLUSTER_TEST_PORT", "8200"))
# Short intervals and leases, so a scenario takes about a minute, not the production ten.
FAST = {
    "ENGINE_HEARTBEAT_SECONDS": "2",
    "OUTBOX_SENDING_LEASE_SECONDS": "20",
    "OUTBOX_SEND_QUEUE_LEASE_SECONDS": "15",
    "SMS_PER_SECOND": "1000000",
    "LOG_LEVEL": "INFO",
}


def database_url() -> str:
    explicit = os.environ.get("CLUSTER_TEST_DATABASE_URL")
    if explicit:
        return explicit
    base = urllib.parse.urlsplit(os.environ.get("DATABASE_URL", ""))
    name = base.path.lstrip("/") or "statuspage"
    return urllib.parse.urlunsplit(base._replace(path=f"/test_{name}_cluster", query=""))


def redis_url() -> str:
    explicit = os.environ.get("CLUSTER_TEST_REDIS_URL")
    if explicit:
        return explicit
    base = urllib.parse.urlsplit(os.environ.get("REDIS_URL", ""))
    return urllib.parse.urlunsplit(base._replace(path="/5"))


def why_not_runnable() -> str | None:
    """None when the scenarios can run here, else the reason they are skipped."""
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        return "cluster scenarios need PostgreSQL: they run in make test's PostgreSQL + Redis pass"
    if not os.environ.get("REDIS_URL"):
        return "cluster scenarios need Redis: they run in make test's PostgreSQL + Redis pass"
    for url in (database_url(), redis_url()):
        parts = urllib.parse.urlsplit(url)
        try:
            socket.create_connection((parts.hostname, parts.port), timeout=1).close()
        except OSError:
            return f"{parts.scheme} on {parts.hostname}:{parts.port} does not answer"
    if not shutil.which(haproxy_binary()):
        return "haproxy is not installed (make cluster-tools installs Debian's)"
    return None


def make_cluster(name: str, nodes: int = 3, **overrides: Any) -> Cluster:
    """A cluster for one scenario, with its own logs under var/cluster-tests/<name>."""
    env = {**FAST, **overrides.pop("env", {})}
    config = ClusterConfig(
        nodes=nodes,
        base_port=BASE_PORT,
        database_url=overrides.pop("database_url", database_url()),
        redis_url=overrides.pop("redis_url", redis_url()),
        var_dir=ROOT / "var" / "cluster-tests" / name,
        env=env,
        **overrides,
    )
    shutil.rmtree(config.var_dir, ignore_errors=True)
    return Cluster(config)


def reset(cluster: Cluster) -> None:
    """An empty database (migrated) and an empty broker before a scenario. A database that
    no longer migrates (left by another branch's migrations) is dropped and made again."""
    import redis

    try:
        cluster.prepare()
    except RuntimeError:
        drop_database(cluster.config.database_url)
        cluster.prepare()
    cluster.manage("flush", "--noinput")
    redis.Redis.from_url(cluster.config.redis_url).flushdb()


def drop_database(url: str) -> None:
    parts = urllib.parse.urlsplit(url)
    name = parts.path.lstrip("/")
    assert name.startswith("test_") or "cluster" in name, f"not a scenario's database: {name}"
    admin = urllib.parse.urlunsplit(parts._replace(path="/postgres", query=""))
    with psycopg.connect(admin, autocommit=True, connect_timeout=5) as connection:
        connection.execute(
            psycopg.sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                psycopg.sql.Identifier(name)
            )
        )


def seed(cluster: Cluster, *args: str) -> dict:
    result = subprocess.run(
        [sys.executable, "-m", "tests.cluster.seed", *args],
        env=cluster.node_env(),
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode:
        raise RuntimeError(f"seeding failed:\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def wait_for(predicate: Callable[[], Any], timeout: float, what: str, every: float = 0.25) -> Any:
    """Poll until `predicate()` is truthy; its value, or TimeoutError naming `what`."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = predicate()
        except (OSError, psycopg.Error, requests.RequestException):
            value = None  # a service being restarted: ask again
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {timeout:g} s")
        time.sleep(every)


class ClusterDatabase:
    """The cluster's database read directly (a fresh connection per question, so a
    restarted server is simply asked again)."""

    def __init__(self, url: str) -> None:
        self.url = url

    def rows(self, sql: str, *params: Any) -> list[tuple]:
        with psycopg.connect(self.url, autocommit=True, connect_timeout=3) as connection:
            return connection.execute(sql, params).fetchall()

    def scalar(self, sql: str, *params: Any) -> Any:
        rows = self.rows(sql, *params)
        return rows[0][0] if rows else None

    def deliveries(self) -> dict[str, int]:
        return dict(self.rows("SELECT state, count(*) FROM notifiers_delivery GROUP BY state"))

    def steps_fired_twice(self) -> int:
        """Steps recorded more than once for one incident (the unique key should make it 0)."""
        return int(
            self.scalar(
                "SELECT coalesce(sum(n - 1), 0) FROM (SELECT count(*) AS n FROM incidents_firedstep"
                " GROUP BY incident_id, key) AS fired"
            )
        )

    def lease_holder(self) -> str | None:
        """Who holds the housekeeping lease now (None: nobody, or no lease table yet)."""
        try:
            return self.scalar(
                "SELECT holder FROM statuspage_lease WHERE expires_at > now() AND holder <> ''"
                " ORDER BY name LIMIT 1"
            )
        except psycopg.errors.UndefinedTable:
            return None

    def has_lease_table(self) -> bool:
        return bool(self.scalar("SELECT to_regclass('statuspage_lease') IS NOT NULL"))


RESTART_LINE = re.compile(r"statuspage\.runall: (\w+) exited")


def restarts(cluster: Cluster) -> str:
    """The parts runall restarted on each node ("node1: engine, tasks"), read from the logs."""
    found = []
    for node in cluster.nodes:
        try:
            text = node.log_path.read_text(errors="replace")
        except OSError:
            continue
        parts = RESTART_LINE.findall(text)
        if parts:
            found.append(f"{node.name}: {', '.join(parts)}")
    return "; ".join(found) or "none"


def holder_node(cluster: Cluster, holder: str | None) -> Node | None:
    """The node whose engine process holds a lease named "host:pid#id"."""
    if not holder:
        return None
    pid = holder.rpartition("#")[0].rpartition(":")[2]
    if not pid.isdigit():
        return None
    for node in cluster.nodes:
        if node.process is not None and any(p.pid == int(pid) for p in node.processes()):
            return node
    return None


class Sandbox:
    """The cluster's provider sandbox, asked what it received."""

    def __init__(self, cluster: Cluster) -> None:
        self.url = cluster.config.sandbox_url

    def count(self, key: str) -> int:
        return requests.get(f"{self.url}/_sandbox/counts", timeout=5).json().get(key, 0)

    def set_fault(self, provider: str, **profile: Any) -> None:
        response = requests.post(
            f"{self.url}/_sandbox/faults", json={"provider": provider, **profile}, timeout=5
        )
        response.raise_for_status()

    def by_target(self, provider: str, kind: str) -> dict[str, dict[str, int]]:
        response = requests.get(
            f"{self.url}/_sandbox/targets", params={"provider": provider, "kind": kind}, timeout=30
        )
        response.raise_for_status()
        return response.json()


class CountingTarget:
    """A loopback HTTP service answering /p/<n> and noting when each probe n checked it,
    and from which address (a node in a network namespace has an address of its own)."""

    def __init__(self, port: int, host: str = "127.0.0.1") -> None:
        self.host, self.port = host, port
        self.hits: dict[int, list[float]] = defaultdict(list)
        self.sources: dict[str, list[float]] = defaultdict(list)
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/p/"

    async def handle(self, request: web.Request) -> web.Response:
        now = time.time()
        with self._lock:
            self.hits[int(request.match_info["n"])].append(now)
            self.sources[request.remote or ""].append(now)
        return web.json_response({"status": "ok"})

    def _serve(self) -> None:
        self._loop = asyncio.new_event_loop()
        app = web.Application()
        app.router.add_get("/p/{n}", self.handle)
        runner = web.AppRunner(app, access_log=None)
        self._loop.run_until_complete(runner.setup())
        self._loop.run_until_complete(web.TCPSite(runner, self.host, self.port).start())
        self._ready.set()
        self._loop.run_forever()
        self._loop.run_until_complete(runner.cleanup())
        self._loop.close()

    def __enter__(self) -> CountingTarget:
        self._thread = threading.Thread(target=self._serve, name="probe-target", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the probe target did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)

    def snapshot(self) -> dict[int, list[float]]:
        with self._lock:
            return {n: list(times) for n, times in self.hits.items()}

    def checks_from(self, address: str, since: float = 0.0) -> int:
        with self._lock:
            return sum(t >= since for t in self.sources.get(address, []))


def record_figures(scenario: str, figures: dict[str, Any], command: str) -> None:
    """Merge one scenario's figures into var/cluster/figures.json (rendered into
    docs/RELIABILITY.md by `make cluster-figures`) and print them."""
    FIGURES.parent.mkdir(parents=True, exist_ok=True)
    try:
        stored = json.loads(FIGURES.read_text())
    except (OSError, ValueError):
        stored = {}
    stored[scenario] = {
        **figures,
        "command": command,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    FIGURES.write_text(json.dumps(stored, indent=2, sort_keys=True) + "\n")
    print(f"\n{scenario}: {json.dumps(figures, sort_keys=True)}")
