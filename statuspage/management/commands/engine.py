import asyncio
import logging
import signal

from django.conf import settings
from django.core.management.base import BaseCommand

from statuspage.probes.engine import Engine

log = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Run the engine: due probes on their own intervals, auto-resolve, delivery retries."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--tick", type=float, default=settings.ENGINE["TICK_SECONDS"])
        parser.add_argument("--concurrency", type=int, default=settings.ENGINE["MAX_CONCURRENCY"])

    def handle(self, *args, tick: float, concurrency: int, **options) -> None:
        asyncio.run(self.serve(tick, concurrency))

    async def serve(self, tick: float, concurrency: int) -> None:
        engine = Engine(tick, concurrency)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, engine.stop.set)
        self.stdout.write(f"engine running (tick {tick:g} s, up to {concurrency} checks at once)")
        await engine.run()
        self.stdout.write("engine stopped")
