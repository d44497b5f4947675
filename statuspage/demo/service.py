"""A tiny stand-in for the monitored "Follow" API, with the failures we demonstrate.

`manage.py demo serve` runs it; `demo break`, `backlog`, `silence` and `fix` flip it over
HTTP. Tests run it in a thread on an ephemeral port.

- break: `/health` answers 503 (the easy failure).
- backlog: `/health` stays green while `/metrics` shows the data falling behind
  (`data_age_seconds` and `queue_depth` grow): the failure of the outage in CONTEXT.md.
- silence: the simulated sensor uploader stops pinging its heartbeat URL.

Time is read from statuspage.clock, so a test moving the clock ages the data.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from datetime import datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from statuspage import clock

log = logging.getLogger(__name__)

# A healthy pipeline processes readings within a couple of seconds of their arrival.
FRESH_DATA_AGE_SECONDS = 2
# Readings arriving per second while nothing drains them: how fast the queue grows.
READINGS_PER_SECOND = 40


class DemoState:
    def __init__(self) -> None:
        self.healthy = True
        self.backlog_since: datetime | None = None
        self.silenced = False
        self.lock = threading.Lock()

    def set(self, healthy: bool) -> None:
        with self.lock:
            self.healthy = healthy

    def start_backlog(self) -> None:
        with self.lock:
            self.backlog_since = self.backlog_since or clock.now()

    def silence(self) -> None:
        with self.lock:
            self.silenced = True

    def fix(self) -> None:
        with self.lock:
            self.healthy, self.backlog_since, self.silenced = True, None, False

    def metrics(self) -> dict:
        """What the pipeline reports about itself; the health check never looks at it."""
        if self.backlog_since is None:
            return {"data_age_seconds": FRESH_DATA_AGE_SECONDS, "queue_depth": 0}
        behind = max(0, int((clock.now() - self.backlog_since).total_seconds()))
        return {
            "data_age_seconds": FRESH_DATA_AGE_SECONDS + behind,
            "queue_depth": behind * READINGS_PER_SECOND,
        }

    def as_dict(self) -> dict:
        return {
            "healthy": self.healthy,
            "backlog": self.backlog_since is not None,
            "uploads": not self.silenced,
        }


class DemoHandler(BaseHTTPRequestHandler):
    server: DemoServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args) -> None:
        pass

    def reply(self, status: int, payload: dict) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        state = self.server.state
        if self.path == "/health":
            if state.healthy:
                self.reply(HTTPStatus.OK, {"status": "ok", "service": "follow"})
            else:
                self.reply(HTTPStatus.SERVICE_UNAVAILABLE, {"status": "down", "error": "backlog"})
        elif self.path == "/metrics":
            self.reply(HTTPStatus.OK, state.metrics())
        elif self.path == "/_demo/state":
            self.reply(HTTPStatus.OK, state.as_dict())
        else:
            self.reply(HTTPStatus.NOT_FOUND, {"error": "not found"})

    def do_POST(self) -> None:
        state = self.server.state
        actions: dict[str, Callable[[], None]] = {
            "/_demo/break": lambda: state.set(False),
            "/_demo/fix": state.fix,
            "/_demo/backlog": state.start_backlog,
            "/_demo/silence": state.silence,
        }
        if self.path not in actions:
            self.reply(HTTPStatus.NOT_FOUND, {"error": "not found"})
            return
        actions[self.path]()
        self.reply(HTTPStatus.OK, state.as_dict())


class DemoServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int = 0, host: str = "127.0.0.1") -> None:
        super().__init__((host, port), DemoHandler)
        self.state = DemoState()
        self.thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        assert isinstance(host, str)  # an AF_INET server's; the stubs allow bytes
        return f"http://{host}:{port}"

    def start(self) -> DemoServer:
        self.thread = threading.Thread(target=self.serve_forever, name="demo-service", daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


class Uploader:
    """The sensor wearers' phones uploading readings: each upload pings the heartbeat URL
    with the pipeline's metrics, until `demo silence` stops them.

    `send` delivers one ping (an HTTP POST to the status page in `demo serve`); `upload_once`
    is one upload, which the thread repeats every `every_seconds` of real time.
    """

    def __init__(
        self, state: DemoState, send: Callable[[bytes], None], every_seconds: float
    ) -> None:
        self.state = state
        self.send = send
        self.every_seconds = every_seconds
        self.stopped = threading.Event()

    def upload_once(self) -> bool:
        if self.state.silenced:
            return False
        try:
            self.send(json.dumps(self.state.metrics()).encode())
        except OSError:
            return False  # the status page is down or not started yet: the next upload retries
        return True

    def start(self) -> Uploader:
        threading.Thread(target=self.run, name="demo-uploader", daemon=True).start()
        return self

    def run(self) -> None:
        while not self.stopped.is_set():
            try:
                self.upload_once()
            except Exception:
                log.exception("a sensor upload failed; the next one tries again")
            self.stopped.wait(self.every_seconds)

    def stop(self) -> None:
        self.stopped.set()
