"""``manage.py sandbox [--port N]``: run the provider sandbox in the foreground."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from notifiers.sandbox import SandboxServer, serve_forever


class Command(BaseCommand):
    help = "Run the provider sandbox (FCM and its OAuth endpoint) on 127.0.0.1 until stopped."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--port",
            type=int,
            default=settings.SANDBOX_PORT,
            help="TCP port on 127.0.0.1; 0 picks a free one (default: settings.SANDBOX_PORT).",
        )

    def handle(self, *args: Any, port: int, **options: Any) -> None:
        serve_forever(port, on_ready=self.announce)
        self.stdout.write("provider sandbox stopped")

    def announce(self, server: SandboxServer) -> None:
        self.stdout.write(f"provider sandbox running at {server.url}", ending="\n")
        self.stdout.flush()
