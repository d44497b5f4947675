"""``manage.py sandbox [--port N]``: run the provider sandbox in the foreground."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from notifiers.sandbox.server import SandboxServer, serve_forever


class Command(BaseCommand):
    help = "Run the provider sandbox (FCM, Twilio, SendGrid, social, Slack, webhooks) on 127.0.0.1."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--port",
            type=int,
            default=settings.SANDBOX_PORT,
            help="TCP port on 127.0.0.1; 0 picks a free one (default: settings.SANDBOX_PORT).",
        )
        parser.add_argument(
            "--record-limit",
            type=int,
            default=None,
            help="Keep only the newest N messages (counts stay exact); for benchmarks.",
        )

    def handle(self, *args: Any, port: int, record_limit: int | None, **options: Any) -> None:
        serve_forever(port, on_ready=self.announce, record_limit=record_limit)
        self.stdout.write("provider sandbox stopped")

    def announce(self, server: SandboxServer) -> None:
        self.stdout.write(f"provider sandbox running at {server.url}", ending="\n")
        self.stdout.flush()
