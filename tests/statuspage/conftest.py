"""Real loopback servers for the probe kinds: HTTP(S) with scripted answers, TCP, DNS."""

from __future__ import annotations

import datetime as dt
import json
import socket
import socketserver
import ssl
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import dns.flags
import dns.message
import dns.rcode
import dns.rrset
import pytest

from tests.clock import NOW
from tests.factories import make_component, open_outage_at, resolve_at


@dataclass
class Answer:
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


@pytest.fixture
def web():
    server = ScriptedServer()
    yield server
    server.shutdown()
    server.server_close()


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


@pytest.fixture
def https_server(tmp_path, settings):
    """Start an HTTPS server whose certificate expires in N days; the engine trusts it."""
    servers = []

    def start(days_valid: int) -> ScriptedServer:
        cert_file, key_file = self_signed(tmp_path, days_valid)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert_file, key_file)
        settings.ENGINE = {**settings.ENGINE, "CA_FILE": str(cert_file)}
        servers.append(ScriptedServer(context))
        return servers[-1]

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


class BannerHandler(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        if self.server.banner:
            self.wfile.write(self.server.banner.encode())
        if self.server.echo:
            line = self.rfile.readline()
            self.wfile.write(b"+" + line.strip().replace(b"PING", b"PONG") + b"\r\n")


@pytest.fixture
def tcp_server():
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), BannerHandler)
    server.daemon_threads = True
    server.banner, server.echo = "", False
    server.port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


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


@pytest.fixture
def dns_server():
    server = socketserver.ThreadingUDPServer(("127.0.0.1", 0), DnsHandler)
    server.daemon_threads = True
    server.zone = {}
    server.address = f"127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def silent_udp_port():
    """A UDP port that receives and never answers: a resolver that is down."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


# The public side: no cached fragments between tests; an outage resolved three days before
# NOW, and one live at NOW (built by tests.factories through the real workflow).


@pytest.fixture(autouse=True)
def empty_cache():
    """Cached fragments (uptime bars, response-time charts) must not cross tests that freeze
    the clock at the same minute."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def resolved_incident(db):
    incident = open_outage_at(NOW - timedelta(days=3))
    return resolve_at(incident, NOW - timedelta(days=3) + timedelta(hours=2))


@pytest.fixture
def live_outage(db):
    make_component("Share upload", audience_slug="share-app", advice="")
    return open_outage_at(NOW)
