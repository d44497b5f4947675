"""Run the whole system in the foreground: what `make run` ends with.

Starts the web server (gunicorn, `config/gunicorn_conf.py`), the engine, the task cluster
(`manage.py tasks`), the provider sandbox and the demo service as child processes, each in its
own process group. A child
that exits is started again after a backoff (1 s, 2 s, 4 s ... at most MAX_BACKOFF_SECONDS,
back to 1 s once it has run STABLE_SECONDS), and each restart is logged: one crashed part
never takes the others down. Ctrl-C or SIGTERM stops them all: SIGTERM to each, then, after
STOP_GRACE_SECONDS, SIGKILL to whatever is left of each group, so nothing outlives us.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from statuspage.demo.setup import DEMO_ADMIN

log = logging.getLogger("statuspage.runall")

STOP_GRACE_SECONDS = 10
FIRST_BACKOFF_SECONDS = 1.0
MAX_BACKOFF_SECONDS = 30.0
STABLE_SECONDS = 60.0
POLL_SECONDS = 0.2
GUNICORN_CONFIG = "config.gunicorn_conf"


@dataclass
class Child:
    """One supervised part: how to start it, the running process, its restart schedule."""

    name: str
    argv: list[str]
    process: subprocess.Popen | None = None
    started: float = 0.0
    backoff: float = FIRST_BACKOFF_SECONDS
    restart_at: float | None = None
    restarts: int = field(default=0)

    def start(self, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            self.argv, env=env, cwd=settings.BASE_DIR, start_new_session=True
        )
        self.started = time.monotonic()
        self.restart_at = None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def exited(self) -> int | None:
        """Its exit status if it has just been found dead and is not yet scheduled again."""
        if self.process is None or self.restart_at is not None:
            return None
        return self.process.poll()

    def schedule_restart(self, now: float) -> float:
        """When to start it again: doubling from FIRST_BACKOFF_SECONDS, reset after a
        stable run of STABLE_SECONDS."""
        if now - self.started >= STABLE_SECONDS:
            self.backoff = FIRST_BACKOFF_SECONDS
        delay = self.backoff
        self.backoff = min(self.backoff * 2, MAX_BACKOFF_SECONDS)
        self.restart_at = now + delay
        self.restarts += 1
        return delay


class Command(BaseCommand):
    help = "Run web, engine, task cluster, provider sandbox and demo service together."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", 8000)))
        parser.add_argument("--host", default="127.0.0.1", help="the web server's address")
        parser.add_argument("--no-demo", action="store_true", help="do not start the demo service")
        parser.add_argument(
            "--no-sandbox",
            action="store_true",
            help="production: no provider sandbox, and providers are the real ones",
        )
        parser.add_argument(
            "--workers",
            type=int,
            default=0,
            help="web worker processes (default: WEB_WORKERS, else 2 x cores + 1)",
        )
        parser.add_argument(
            "--only",
            default="",
            help="comma-separated parts to run (web, engine, tasks, sandbox, demo); default all",
        )

    def handle(
        self,
        *args,
        port: int,
        host: str,
        no_demo: bool,
        no_sandbox: bool,
        workers: int,
        only: str,
        **options,
    ) -> None:
        env = self.child_env(sandbox=not no_sandbox)
        children = self.children(host, port, no_demo, only, workers, sandbox=not no_sandbox)
        for child in children:
            child.start(env)
        if any(child.name == "web" for child in children):
            self.print_welcome(host, port, no_demo, sandbox=not no_sandbox)
        stopping: list[int] = []
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda signum, _: stopping.append(signum))
        try:
            while not stopping:
                self.supervise(children, env, stopping)
                time.sleep(POLL_SECONDS)
        finally:
            self.stop(children)

    def children(
        self, host: str, port: int, no_demo: bool, only: str, workers: int = 0, sandbox: bool = True
    ) -> list[Child]:
        manage = [sys.executable, str(settings.BASE_DIR / "manage.py")]
        commands = {
            "web": web_command(host, port, workers),
            "engine": [*manage, "engine"],
            "tasks": [*manage, "tasks"],
            "sandbox": [*manage, "sandbox", "--port", str(settings.SANDBOX_PORT)],
            "demo": [*manage, "demo", "serve"],
        }
        if no_demo:
            del commands["demo"]
        if not sandbox:
            del commands["sandbox"]
        chosen = [name.strip() for name in only.split(",") if name.strip()] or list(commands)
        unknown = set(chosen) - set(commands)
        if unknown:
            raise CommandError(f"unknown parts {sorted(unknown)}; choose from {list(commands)}")
        return [Child(name, commands[name]) for name in chosen]

    def supervise(self, children: list[Child], env: dict[str, str], stopping: list[int]) -> None:
        """Schedule a restart for each child found dead; start those whose time came. A stop
        signal can land mid-pass (a whole-node stop signals the parts too): from then on a
        dead part is part of the stop, not a crash."""
        now = time.monotonic()
        for child in children:
            if stopping:
                return
            status = child.exited()
            if status is not None:
                kill_group(child)  # what it left behind in its group
                delay = child.schedule_restart(now)
                log.error(
                    "%s exited with status %s after %.0f s; restarting it in %.0f s (restart %d)",
                    child.name,
                    status,
                    now - child.started,
                    delay,
                    child.restarts,
                )
            elif child.restart_at is not None and now >= child.restart_at:
                child.start(env)
                log.warning("%s restarted (pid %s)", child.name, child.pid)

    def child_env(self, sandbox: bool = True) -> dict[str, str]:
        env = dict(os.environ)
        if sandbox:
            env.setdefault("SANDBOX_URL", f"http://127.0.0.1:{settings.SANDBOX_PORT}")
        env["PYTHONUNBUFFERED"] = "1"
        return env

    def stop(self, children: list[Child]) -> None:
        """SIGTERM each child, wait up to STOP_GRACE_SECONDS in all, then SIGKILL every
        process left in each child's group."""
        running = [c.process for c in children if c.process and c.process.poll() is None]
        for process in running:
            process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for child in children:
            if child.process not in running:
                continue
            try:
                child.process.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                log.warning("%s did not stop in %s s: killing it", child.name, STOP_GRACE_SECONDS)
        for child in children:
            kill_group(child)
            if child.process is not None:
                child.process.wait()
        self.stdout.write("everything stopped")

    def print_welcome(self, host: str, port: int, no_demo: bool, sandbox: bool = True) -> None:
        base = f"http://{host}:{port}"
        lines = [
            "",
            f"  Status page     {base}/",
            f"  Summary API     {base}/api/v2/summary.json",
            f"  App banner      {base}/api/v1/banner.json?audience=follow-app",
        ]
        password_file = settings.VAR_DIR / "demo-admin-password"
        if password_file.exists():  # made by `demo setup`; a cluster node has none
            password = password_file.read_text().strip()
            lines.append(
                f"  Staff login     {base}/admin/  user '{DEMO_ADMIN}', password '{password}'"
            )
        if sandbox:
            lines.append(f"  Sandbox phones  http://127.0.0.1:{settings.SANDBOX_PORT}/")
        if not no_demo:
            lines += [
                "",
                "  Break the demo service:  .venv/bin/python manage.py demo break",
                "  Mend it again:           .venv/bin/python manage.py demo fix",
                "  The page turns red within two probe intervals (10 s each).",
            ]
        lines += ["", "  Ctrl-C stops everything.", ""]
        self.stdout.write("\n".join(lines))


def web_command(host: str, port: int, workers: int = 0) -> list[str]:
    """gunicorn with the project's configuration; `workers` 0 leaves the count to it."""
    argv = [
        sys.executable,
        "-m",
        "gunicorn",
        "--config",
        f"python:{GUNICORN_CONFIG}",
        "--bind",
        f"{host}:{port}",
    ]
    if workers:
        argv += ["--workers", str(workers)]
    return argv


def kill_group(child: Child) -> None:
    """SIGKILL every process still in the child's process group (it leads its own)."""
    if child.process is None:
        return
    try:
        os.killpg(child.process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
