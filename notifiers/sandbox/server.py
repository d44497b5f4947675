"""Run the sandbox on 127.0.0.1: in a background thread (tests, demo) or in the foreground."""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import Callable
from types import FrameType, TracebackType

from aiohttp import web

from notifiers.sandbox.app import make_app
from notifiers.sandbox.faults import FaultInjector
from notifiers.sandbox.recorder import Recorder
from statuspage.process import freeze_startup_heap

LOOPBACK = "127.0.0.1"
SHUTDOWN_TIMEOUT_S = 2.0
START_TIMEOUT_S = 10.0


class SandboxServer:
    """The sandbox app served by its own event loop in a daemon thread.

    ``port=0`` binds an ephemeral port; ``url`` reports the real one once started.
    """

    def __init__(
        self,
        port: int = 0,
        recorder: Recorder | None = None,
        faults: FaultInjector | None = None,
    ) -> None:
        self.recorder = recorder or Recorder()
        self.faults = faults or FaultInjector()
        self._requested_port = port
        self._port: int | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._startup_error: BaseException | None = None

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("the sandbox is not running")
        return self._port

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def start(self) -> SandboxServer:
        if self._thread is not None:
            raise RuntimeError("the sandbox is already running")
        self._ready.clear()
        self._startup_error = None
        self._thread = threading.Thread(target=self._run, name="provider-sandbox", daemon=True)
        self._thread.start()
        if not self._ready.wait(START_TIMEOUT_S):
            raise RuntimeError("the sandbox did not start in time")
        if self._startup_error is not None:
            self._thread.join()
            self._thread = None
            self._loop = None
            raise self._startup_error
        return self

    def stop(self) -> None:
        """Stop serving and wait for the thread; a no-op when not running."""
        if self._thread is None or self._loop is None:
            return
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._thread = None
        self._loop = None
        self._port = None

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            app = make_app(self.recorder, self.faults)
            runner = web.AppRunner(app, shutdown_timeout=SHUTDOWN_TIMEOUT_S)
            self._port = loop.run_until_complete(_serve(runner, self._requested_port))
        except BaseException as error:  # handed to start(), which re-raises it
            self._startup_error = error
            loop.close()
            self._ready.set()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(runner.cleanup())
            loop.close()


async def _serve(runner: web.AppRunner, port: int) -> int:
    """Start serving on the loopback interface; return the bound port."""
    await runner.setup()
    try:
        await web.TCPSite(runner, LOOPBACK, port).start()
    except BaseException:
        await runner.cleanup()
        raise
    return int(runner.addresses[0][1])


def serve_forever(
    port: int,
    on_ready: Callable[[SandboxServer], None] | None = None,
    record_limit: int | None = None,
) -> None:
    """Serve in the foreground until SIGTERM or SIGINT, then shut down cleanly.

    Must run in the main thread (signal handlers can only be installed there). The heap
    of the started server is frozen: a benchmark's millions of messages would otherwise
    pay for full collections of Django's objects, in the ceilings and the pipeline alike.
    """
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        with SandboxServer(port, recorder=Recorder(limit=record_limit)) as server:
            freeze_startup_heap()
            if on_ready is not None:
                on_ready(server)
            stop.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
