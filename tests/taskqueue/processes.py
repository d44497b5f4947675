"""Real processes for the task-queue tests: a command started against the test database,
its log read back, the pids its cluster's processes announce, and process-group checks."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent.parent


def database_url() -> str:
    """The test database, as a DATABASE_URL a child process can open (data is committed:
    these tests use transactional_db)."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    port = db.get("PORT") or 5432
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{port}/{db['NAME']}"


def child_env(var_dir: Path, **extra: str) -> dict[str, str]:
    """What a child of the test needs: the test database and Redis db, the same secret (tasks
    are signed with it), the test's sandbox."""
    own = {"DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env = {k: v for k, v in os.environ.items() if k not in own}
    env.update(
        DATABASE_URL=database_url(),
        REDIS_URL=settings.REDIS_URL,
        SECRET_KEY=settings.SECRET_KEY,
        SANDBOX_URL=settings.SANDBOX_URL,
        STATUSPAGE_VAR_DIR=str(var_dir),
        DEBUG="1",
        PYTHONUNBUFFERED="1",
        LOG_LEVEL="INFO",
        **extra,
    )
    return env


class Child:
    """A child process in its own process group, its output in a file."""

    def __init__(self, argv: list[str], env: dict[str, str], log: Path) -> None:
        self.log = log
        self._out = open(log, "wb")  # noqa: SIM115 (closed in stop)
        self.process = subprocess.Popen(
            argv,
            cwd=ROOT,
            env=env,
            stdout=self._out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @classmethod
    def manage(cls, *args: str, env: dict[str, str], log: Path) -> Child:
        return cls([sys.executable, "manage.py", *args], env, log)

    @property
    def pid(self) -> int:
        return self.process.pid

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for(self, pattern: str, count: int = 1, timeout: float = 60) -> list[re.Match]:
        """Poll the log until `pattern` matched `count` times (bounded: fails past timeout)."""
        deadline = time.monotonic() + timeout
        while True:
            found = list(re.finditer(pattern, self.output()))
            if len(found) >= count:
                return found
            if time.monotonic() > deadline or (self.process.poll() is not None and not found):
                raise AssertionError(
                    f"{pattern!r} seen {len(found)} of {count} times; log:\n{self.output()[-4000:]}"
                )
            time.sleep(0.1)

    def worker_pids(self, count: int, timeout: float = 60) -> list[int]:
        """The pids of the first `count` django-q2 workers, as each announces itself."""
        return [int(m.group(1)) for m in self.wait_for(r"ready for work at (\d+)", count, timeout)]

    def stop(self, timeout: float = 30) -> None:
        """SIGTERM, then SIGKILL of the whole group if it does not go."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
        kill_group(self.pid)
        self.process.wait()
        self._out.close()


def kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def group_members(pgid: int) -> list[int]:
    """Live processes (zombies aside) in a process group."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(entry.name))
    return members


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def poll(predicate, timeout: float, every: float = 0.2):
    """The predicate's first truthy value, or None once `timeout` seconds passed."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(every)
