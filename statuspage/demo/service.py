"""A tiny stand-in for the monitored "Follow" API, with a health endpoint we can break.

`manage.py demo serve` runs it; `manage.py demo break` / `demo fix` flip it over HTTP.
Tests run it in a thread on an ephemeral port.
"""

from __future__ import annotations

import json
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class DemoState:
    def __init__(self) -> None:
        self.healthy = True
        self.lock = threading.Lock()

    def set(self, healthy: bool) -> None:
        with self.lock:
            self.healthy = healthy


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
        if self.path == "/health":
            if self.server.state.healthy:
                self.reply(HTTPStatus.OK, {"status": "ok", "service": "follow"})
            else:
                self.reply(HTTPStatus.SERVICE_UNAVAILABLE, {"status": "down", "error": "backlog"})
        elif self.path == "/_demo/state":
            self.reply(HTTPStatus.OK, {"healthy": self.server.state.healthy})
        else:
            self.reply(HTTPStatus.NOT_FOUND, {"error": "not found"})

    def do_POST(self) -> None:
        actions = {"/_demo/break": False, "/_demo/fix": True}
        if self.path not in actions:
            self.reply(HTTPStatus.NOT_FOUND, {"error": "not found"})
            return
        self.server.state.set(actions[self.path])
        self.reply(HTTPStatus.OK, {"healthy": self.server.state.healthy})


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
