"""Two real `manage.py engine` processes on the database the suite runs on (PostgreSQL in the
second pass of `make test`), against a loopback HTTP target that counts the hits: each check
runs once, one engine leads housekeeping, a SIGKILLed leader's lease passes on within two
heartbeats, and the dead engine is named. Short heartbeats (3 s) and one 10 s probe interval
keep each test to the engines' start-up plus about 15 s; they poll for events with a
deadline, never for a clock.

Deselect with `-m "not cluster"`.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection

from incidents.console.alerts import staff_alerts
from statuspage import clock
from statuspage.models import EngineNode, Lease, Probe
from tests.factories import make_component

pytestmark = [pytest.mark.cluster, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
HEARTBEAT = 3.0  # seconds: alive = a beat within 6 s; the lease lives 3 s
INTERVAL = 10  # seconds between checks of each probe: the database's minimum
PROBES = 200


class CountingHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        with self.server.lock:
            self.server.hits.append((time.monotonic(), self.path))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"OK")


@pytest.fixture
def target():
    server = ThreadingHTTPServer(("127.0.0.1", 0), CountingHandler)
    server.daemon_threads = True
    server.hits, server.lock = [], threading.Lock()
    server.handle_error = lambda request, address: None  # a probe that gave up: not ours
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def database_url() -> str:
    """The test database this process uses, as a URL the engines can be given."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def engines(tmp_path):
    """Start engine processes on the test database; SIGKILL whatever is left at the end."""
    started: list[subprocess.Popen] = []
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "ENGINE_HEARTBEAT_SECONDS": str(HEARTBEAT),
        "ENGINE_TICK_SECONDS": "0.1",
        "STATUSPAGE_VAR_DIR": str(tmp_path),
        "DEBUG": "0",
        "SECRET_KEY": "cluster-test-secret-key-" + "x" * 40,
        "ALLOWED_HOSTS": "127.0.0.1",
        "LOG_LEVEL": "WARNING",
        "ENGINE_ONCALL_PAGERS": "statuspage.picture.monitoring.log_page",
    }

    def start() -> subprocess.Popen:
        n = len(started)
        process = subprocess.Popen(
            [sys.executable, "manage.py", "engine"],
            cwd=ROOT,
            env=env,
            stdout=(tmp_path / f"engine{n}.out").open("w"),
            stderr=(tmp_path / f"engine{n}.err").open("w"),
        )
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait(10)


def make_fleet(url: str) -> float:
    """PROBES probes whose first checks spread over one interval from a second from now;
    returns when that first interval begins, on the monotonic clock the target stamps."""
    component = make_component()
    first = clock.now() + timedelta(seconds=1)
    begins = time.monotonic() + 1
    Probe.objects.bulk_create(
        Probe(
            component=component,
            name=f"target {i}",
            url=f"{url}/t/{i}",
            interval_seconds=INTERVAL,
            timeout_seconds=2,
            next_run_at=first + timedelta(seconds=INTERVAL * i / PROBES),
        )
        for i in range(PROBES)
    )
    return begins


def wait_for(condition, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if found := condition():
            return found
        time.sleep(0.05)
    raise AssertionError(f"not within {seconds} s: {what}")


def alive_nodes() -> list[EngineNode]:
    return EngineNode.alive(clock.now())


def leader() -> EngineNode | None:
    holder = Lease.holder_of(Lease.HOUSEKEEPING, clock.now())
    return EngineNode.from_holder_name(holder) if holder else None


def two_engines_running(engines, target) -> tuple[subprocess.Popen, subprocess.Popen, float]:
    """Both engines up first, then the fleet: its first interval has no backlog to catch up
    (probes due while the engines start are run late, then again on their schedule)."""
    pair = engines(), engines()
    wait_for(lambda: len(alive_nodes()) == 2, 120, "both engines registered")
    wait_for(leader, 10, "one engine leads housekeeping")
    begins = make_fleet(f"http://127.0.0.1:{target.server_address[1]}")
    return pair[0], pair[1], begins


def checks_per_expected_check(target, begins: float, seconds: float) -> float:
    """Target-side hits over whole intervals of the schedule, against what it asks for."""
    time.sleep(max(begins + seconds - time.monotonic(), 0) + 0.5)  # let the window pass
    hits = [path for at, path in list(target.hits) if begins <= at < begins + seconds]
    return len(hits) / (PROBES * seconds / INTERVAL)


def test_two_engines_run_each_check_once_and_one_leads_housekeeping(engines, target, tmp_path):
    first, second, begins = two_engines_running(engines, target)
    ratio = checks_per_expected_check(target, begins, INTERVAL)
    assert 0.85 <= ratio <= 1.15, f"{ratio:.2f} checks per expected check"
    nodes = {n.pid: n for n in alive_nodes()}
    assert set(nodes) == {first.pid, second.pid}
    assert all(n.checks_completed > 0 for n in nodes.values()), "the work is shared"
    assert leader().pid in nodes
    logs = [(tmp_path / f"engine{n}.err").read_text() for n in range(2)]
    assert sum("holds the housekeeping lease" in log for log in logs) == 1
    for process in (first, second):
        process.send_signal(signal.SIGTERM)
        assert process.wait(20) == 0
    now = clock.now()
    assert [n.state(now) for n in EngineNode.objects.all()] == ["stopped", "stopped"]
    assert leader() is None, "a clean stop hands the lease back"


def test_a_killed_leaders_lease_is_taken_over_within_two_heartbeats(engines, target):
    first, second, _ = two_engines_running(engines, target)
    boss = leader()
    victim, survivor = (first, second) if boss.pid == first.pid else (second, first)
    victim.kill()
    killed_at = time.monotonic()
    victim.wait(10)
    new = wait_for(lambda: (n := leader()) and n.pid == survivor.pid and n, 10, "a takeover")
    took = time.monotonic() - killed_at
    assert took <= 2 * HEARTBEAT, f"lease taken over after {took:.1f} s"
    assert new.pid == survivor.pid
    before = len(target.hits)
    wait_for(lambda: len(target.hits) >= before + PROBES // 4, 10, "the survivor checks on")


def test_a_killed_engine_is_named_dead_while_the_other_keeps_monitoring(
    engines, target, capsys, task_queue
):
    """`task_queue` empties the broker first: earlier tests' leftovers would read as a
    stalled queue, which the watchdog reports before a dead engine (exit 3)."""
    first, second, _ = two_engines_running(engines, target)
    first.kill()
    first.wait(10)
    alert = wait_for(
        lambda: next((a for a in staff_alerts() if a.kind == "engine_dead"), None),
        4 * HEARTBEAT,
        "the dead engine in the staff alerts",
    )
    assert f"(pid {first.pid}) is dead" in alert.message
    kinds = [a.kind for a in staff_alerts()]
    assert kinds.count("engine_dead") == 1 and "monitoring_interrupted" not in kinds
    with pytest.raises(SystemExit) as exit_:
        call_command("watchdog")
    assert exit_.value.code == 4
    assert f"ENGINE DEAD: {EngineNode.objects.get(pid=first.pid).host} pid {first.pid}" in (
        capsys.readouterr().err
    )
