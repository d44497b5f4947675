"""`manage.py probe_agent --server URL --region NAME`: a vantage point elsewhere.

The token comes from PROBE_AGENT_TOKEN (or --token), so it need not show in `ps`.
"""

from __future__ import annotations

import asyncio
import os
import signal

from django.core.management.base import BaseCommand, CommandError

from statuspage.probes.agent_client import Agent, AgentError


class Command(BaseCommand):
    help = "Run assigned probes from this region and push results to the status server."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--server", required=True, help="e.g. https://status.example.com")
        parser.add_argument(
            "--token",
            default=os.environ.get("PROBE_AGENT_TOKEN", ""),
            help="the token add_probe_agent printed; defaults to $PROBE_AGENT_TOKEN",
        )
        parser.add_argument("--region", required=True)
        parser.add_argument("--concurrency", type=int, default=100)
        parser.add_argument("--once", action="store_true", help="run every check once and exit")

    def handle(self, *args, server, token, region, concurrency, once, **options) -> None:
        if not token:
            raise CommandError("no token: set PROBE_AGENT_TOKEN or pass --token")
        agent = Agent(server.rstrip("/"), token, region, concurrency)
        try:
            if once:
                pushed = asyncio.run(agent.run_once())
                self.stdout.write(f"pushed {pushed} results")
            else:
                asyncio.run(self.serve(agent))
        except AgentError as error:
            raise CommandError(str(error)) from None

    async def serve(self, agent: Agent) -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        self.stdout.write(f"probe agent for region {agent.region} reporting to {agent.server}")
        await agent.run(stop)
        self.stdout.write("probe agent stopped")
