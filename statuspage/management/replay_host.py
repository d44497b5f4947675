"""Hosting `manage.py demo replay`: a database of its own, and the whole system in one process.

The replay must not touch the database `make run` uses, nor race its engine, so the command
runs itself again in a child process on a fresh SQLite file in var/. The child migrates it,
loads the demo, starts the provider sandbox and the demo service on free loopback ports, and
drives the engine, its housekeeping and the tasks (django-q2 in sync mode) on the sped-up
clock (statuspage.demo.replay).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.test.utils import override_settings
from django_q.conf import Conf

from incidents.response import reach
from notifiers.sandbox.server import SandboxServer
from statuspage import clock
from statuspage.checks.heartbeat import PingKind
from statuspage.demo.replay import Drivers, replay
from statuspage.demo.service import DemoServer
from statuspage.demo.setup import HEARTBEAT_NAME, load_demo
from statuspage.models import Probe
from statuspage.probes.engine import housekeeping, run_due_probes
from statuspage.probes.ping import record_ping

DATABASE_FILE = "demo-replay.sqlite3"


def run_in_own_database(speed: float, minutes: float) -> int:
    """Start the child on a fresh database file; its output is the command's."""
    database = Path(settings.VAR_DIR) / DATABASE_FILE
    for path in (database, *(Path(f"{database}{end}") for end in ("-wal", "-shm"))):
        path.unlink(missing_ok=True)
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{database}",
        "REDIS_URL": "",
        "STATUSPAGE_VAR_DIR": str(settings.VAR_DIR),
    }
    env.pop("SANDBOX_URL", None)
    command = [sys.executable, str(settings.BASE_DIR / "manage.py"), "demo", "replay"]
    options = ["--here", "--speed", str(speed), "--minutes", str(minutes)]
    return subprocess.run([*command, *options], env=env, check=False).returncode


def drivers_for(probe: Probe) -> Drivers:
    def engine_pass() -> None:
        run_due_probes()
        housekeeping(clock.now())

    def ping(body: bytes) -> None:
        record_ping(probe.id, PingKind.SUCCESS, body.decode(), clock.now())

    return Drivers(engine_pass, ping)


def run_here(speed: float, minutes: float) -> dict:
    """The child's work; the record is also kept where the console's replay page reads it."""
    Conf.SYNC = True  # tasks run in this process as they are queued: there is no cluster
    call_command("migrate", verbosity=0)
    with SandboxServer(port=0) as sandbox:
        demo = DemoServer(port=0).start()
        try:
            port = demo.server_address[1]
            with override_settings(SANDBOX_URL=sandbox.url, DEMO_SERVICE_PORT=port):
                load_demo()
                probe = Probe.objects.get(name=HEARTBEAT_NAME)
                record = replay(demo, drivers_for(probe), speed, minutes)
        finally:
            demo.stop()
    reach.save(record)
    return record
