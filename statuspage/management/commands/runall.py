"""Run the whole system in the foreground: what `make run` ends with.

Starts the web server, the engine, the django-q2 cluster, the provider sandbox and the demo
service as child processes; Ctrl-C or SIGTERM stops them all, and if one dies the rest are
stopped too, so nothing is left running half-alive.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand

from statuspage.demo.setup import DEMO_ADMIN

STOP_GRACE_SECONDS = 10


class Command(BaseCommand):
    help = "Run web, engine, task cluster, provider sandbox and demo service together."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", 8000)))
        parser.add_argument("--host", default="127.0.0.1", help="the web server's address")
        parser.add_argument("--no-demo", action="store_true", help="do not start the demo service")
        parser.add_argument(
            "--no-sandbox",
            action="store_true",
            help="do not start the provider sandbox (a cluster's nodes share one)",
        )

    def handle(
        self, *args, port: int, host: str, no_demo: bool, no_sandbox: bool, **options
    ) -> None:
        env = self.child_env()
        manage = [sys.executable, str(settings.BASE_DIR / "manage.py")]
        commands = {
            "web": [
                sys.executable,
                "-m",
                "waitress",
                f"--listen={host}:{port}",
                "--threads=8",
                "config.wsgi:application",
            ],
            "engine": [*manage, "engine"],
            "tasks": [*manage, "qcluster"],
        }
        if not no_sandbox:
            commands["sandbox"] = [*manage, "sandbox", "--port", str(settings.SANDBOX_PORT)]
        if not no_demo:
            commands["demo"] = [*manage, "demo", "serve"]
        children = {
            name: subprocess.Popen(argv, env=env, cwd=settings.BASE_DIR)
            for name, argv in commands.items()
        }
        self.print_welcome(host, port, no_demo)
        stopping = []
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stopping.append(True))
        try:
            while not stopping:
                dead = [name for name, child in children.items() if child.poll() is not None]
                if dead:
                    self.stderr.write(f"{', '.join(dead)} stopped unexpectedly; stopping the rest")
                    break
                time.sleep(0.5)
        finally:
            self.stop(children)

    def child_env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.setdefault("SANDBOX_URL", f"http://127.0.0.1:{settings.SANDBOX_PORT}")
        env["PYTHONUNBUFFERED"] = "1"
        return env

    def stop(self, children: dict[str, subprocess.Popen]) -> None:
        for child in children.values():
            if child.poll() is None:
                child.terminate()
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for child in children.values():
            try:
                child.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        self.stdout.write("everything stopped")

    def print_welcome(self, host: str, port: int, no_demo: bool) -> None:
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
