"""Loopback HTTP helpers for browser tests: a host page on another origin, and a proxy in
front of the live server that can be stopped (connection refused) or frozen (serving its last
answers again, like a stale cache) and brought back on the same port."""

from __future__ import annotations

import http.client
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "server", "date"}


class _Quiet(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:
        pass

    def reply(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.send_response(status)
        for name, value in headers:
            if name.lower() not in HOP_BY_HOP:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


class Background:
    """A ThreadingHTTPServer on a fixed loopback port that can stop and start again."""

    def __init__(self, handler: type[BaseHTTPRequestHandler], port: int = 0) -> None:
        self.handler = handler
        self.port = port
        self.server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Background:
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), self.handler)
        self.server.owner = self
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


class _ProxyHandler(_Quiet):
    # One request per connection: a stopped proxy must not go on answering on kept-alive ones.
    protocol_version = "HTTP/1.0"

    def do_GET(self) -> None:
        owner: Proxy = self.server.owner
        if owner.frozen and self.path in owner.remembered:
            owner.replays += 1
            self.reply(*owner.remembered[self.path])
            return
        target = urlsplit(owner.upstream)
        connection = http.client.HTTPConnection(target.hostname, target.port, timeout=10)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        connection.request("GET", self.path, headers=headers)
        response = connection.getresponse()
        answer = (response.status, response.getheaders(), response.read())
        connection.close()
        if response.status == 200:
            owner.remembered[self.path] = answer
        self.reply(*answer)

    do_HEAD = do_GET


class Proxy(Background):
    def __init__(self, upstream: str) -> None:
        super().__init__(_ProxyHandler)
        self.upstream = upstream
        self.frozen = False
        self.replays = 0
        self.remembered: dict[str, tuple] = {}


def host_page(html: str) -> Background:
    """Serve one HTML page at / from its own origin."""

    class Handler(_Quiet):
        def do_GET(self) -> None:
            self.reply(200, [("Content-Type", "text/html; charset=utf-8")], html.encode())

    return Background(Handler).start()
