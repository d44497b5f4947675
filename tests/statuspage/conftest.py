"""Fixtures for the statuspage tests: real loopback servers for the probe kinds (HTTP(S)
with scripted answers, TCP, DNS; their classes are in tests/statuspage/servers.py), an empty
cache, outages for the public side, and an audience page's `world`."""

from __future__ import annotations

import socket
import socketserver
import ssl
import threading
from datetime import timedelta

import pytest

from tests.clock import NOW
from tests.factories import make_component, open_outage_at, resolve_at
from tests.statuspage.pagers import PAGES
from tests.statuspage.private_world import private_world
from tests.statuspage.servers import BannerHandler, DnsHandler, ScriptedServer, self_signed


@pytest.fixture
def world():
    """An audience page with a private component and incidents (tests/statuspage/private_world.py)."""
    return private_world()


@pytest.fixture
def pager(settings):
    """On-call pages go to a list (tests/statuspage/pagers.py), with a 10 s heartbeat."""
    settings.ENGINE = {
        **settings.ENGINE,
        "HEARTBEAT_SECONDS": 10,
        "ONCALL_PAGERS": ["tests.statuspage.pagers.record_page"],
    }
    PAGES.clear()
    yield PAGES
    PAGES.clear()


@pytest.fixture
def web():
    server = ScriptedServer()
    yield server
    server.shutdown()
    server.server_close()


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
