"""Real loopback servers for the statuspage tests (their fixtures are in conftest.py).

For the probe kinds: an HTTP(S) server with scripted answers, a TCP server with a banner, and
an authoritative DNS server. For the browser tests: a host page on another origin, and a proxy
in front of the live server that can be stopped (connection refused) or frozen (serving its
last answers again, like a stale cache) and brought back on the same port."""

from __future__ import annotations

import datetime as dt
import http.client
import json
import socketserver
import ssl
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset

# The probe kinds' servers.


@dataclass
class Answer:
    """What ScriptedServer answers on one path (its `routes` map paths to these)."""

    status: int = 200
    body: str | bytes | dict = "OK"
    headers: dict = field(default_factory=dict)
    delay: float = 0.0


class ScriptedHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:
        pass

    def answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.server.received.append(
            {
                "method": self.command,
                "path": self.path,
                "headers": dict(self.headers),
                "body": self.rfile.read(length).decode(),
            }
        )
        answer = self.server.routes.get(self.path, Answer(404, "not found"))
        if callable(answer):
            answer = answer(self.headers)
        if answer.delay:
            time.sleep(answer.delay)  # the slow server under test, not a wait for a clock
        body = answer.body
        if isinstance(body, dict):
            body = json.dumps(body)
        body = body.encode() if isinstance(body, str) else body
        self.send_response(answer.status)
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_HEAD = answer


class ScriptedServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, context: ssl.SSLContext | None = None) -> None:
        super().__init__(("127.0.0.1", 0), ScriptedHandler)
        self.routes: dict[str, Answer] = {}
        self.received: list[dict] = []
        scheme = "http"
        if context is not None:
            self.socket = context.wrap_socket(self.socket, server_side=True)
            scheme = "https"
        self.url = f"{scheme}://{'localhost' if context else '127.0.0.1'}:{self.server_address[1]}"
        threading.Thread(target=self.serve_forever, daemon=True).start()


def self_signed(tmp_path, days_valid: int):
    """A certificate for localhost valid for `days_valid` more days, and its key."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=days_valid))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / f"cert{days_valid}.pem", tmp_path / f"key{days_valid}.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


class BannerHandler(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        if self.server.banner:
            self.wfile.write(self.server.banner.encode())
        if self.server.echo:
            line = self.rfile.readline()
            self.wfile.write(b"+" + line.strip().replace(b"PING", b"PONG") + b"\r\n")


class DnsHandler(socketserver.BaseRequestHandler):
    """A tiny authoritative server built with dnspython's message API.

    `zone[name]` is a list of addresses (A and AAAA) or a mapping of record type to records
    in zone-file text: {"MX": ["10 mx1.example.test."], "TXT": ['"v=spf1 -all"']}.
    """

    def handle(self) -> None:
        data, sock = self.request
        query = dns.message.from_wire(data)
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        question = query.question[0]
        name = question.name.to_text().rstrip(".")
        records = self.server.zone.get(name)
        if records is None:
            response.set_rcode(dns.rcode.NXDOMAIN)
        else:
            wanted = dns.rdatatype.to_text(question.rdtype)
            if isinstance(records, dict):
                found = records.get(wanted, [])
            else:
                found = [a for a in records if (":" in a) == (wanted == "AAAA")]
            if found:
                response.answer.append(dns.rrset.from_text(question.name, 60, "IN", wanted, *found))
        sock.sendto(response.to_wire(), self.client_address)


# The browser tests' servers.


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
