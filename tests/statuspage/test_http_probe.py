"""The HTTP check against real loopback servers."""

import socket

from statuspage.demo_service import DemoServer
from statuspage.engine import run_checks_blocking
from statuspage.probes import HttpCheck


def check(url: str, timeout: float = 2, expected: int = 200):
    [outcome] = run_checks_blocking([HttpCheck(1, url, "GET", timeout, expected)])
    return outcome


def test_healthy_endpoint_passes_with_latency():
    server = DemoServer().start()
    try:
        outcome = check(f"{server.url}/health")
    finally:
        server.stop()
    assert outcome.ok and outcome.status_code == 200 and outcome.latency_ms >= 0


def test_unexpected_status_fails_and_says_why():
    server = DemoServer().start()
    server.state.set(False)
    try:
        outcome = check(f"{server.url}/health")
    finally:
        server.stop()
    assert not outcome.ok
    assert outcome.error == "HTTP 503, expected 200"


def test_refused_connection_fails():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    outcome = check(f"http://127.0.0.1:{port}/health")
    assert not outcome.ok and "Connect" in outcome.error


def test_silent_server_times_out():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        outcome = check(f"http://127.0.0.1:{port}/health", timeout=0.5)
    assert not outcome.ok
    assert outcome.error == "timed out after 0.5 s"
