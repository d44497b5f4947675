"""TCP and DNS checks against real loopback servers (a banner server, a dnspython DNS server)."""

import socket

from statuspage.checks.dns import DnsCheck, parse_resolver
from statuspage.checks.tcp import TcpCheck
from statuspage.engine import run_checks_blocking


def run(check):
    [outcome] = run_checks_blocking([check])
    return outcome


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_tcp_connect_passes(tcp_server):
    outcome = run(TcpCheck(1, "127.0.0.1", tcp_server.port, 2))
    assert outcome.ok and outcome.latency_ms >= 0


def test_tcp_refused_connection_fails_and_names_the_target():
    port = free_port()
    outcome = run(TcpCheck(1, "127.0.0.1", port, 2))
    assert not outcome.ok
    assert outcome.error.startswith(f"cannot connect to 127.0.0.1:{port}: ")


def test_tcp_banner_must_match(tcp_server):
    tcp_server.banner = "220 mail.example ESMTP ready\r\n"
    assert run(TcpCheck(1, "127.0.0.1", tcp_server.port, 2, expect=r"^220 ")).ok
    tcp_server.banner = "421 too busy\r\n"
    failed = run(TcpCheck(1, "127.0.0.1", tcp_server.port, 2, expect=r"^220 "))
    assert failed.error == "answer '421 too busy\\r\\n' does not match /^220 /"


def test_tcp_sends_and_expects_an_answer(tcp_server):
    tcp_server.echo = True
    assert run(TcpCheck(1, "127.0.0.1", tcp_server.port, 2, send="PING\r\n", expect=r"\+PONG")).ok


def test_tcp_silent_peer_times_out():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        outcome = run(TcpCheck(1, "127.0.0.1", listener.getsockname()[1], 0.3, expect="hello"))
    assert outcome.error == "timed out after 0.3 s"


def test_tcp_peer_that_hangs_up_without_the_banner_fails(tcp_server):
    failed = run(TcpCheck(1, "127.0.0.1", tcp_server.port, 2, expect="hello"))
    assert failed.error == "answer '' does not match /hello/"


def test_dns_name_resolves_through_the_configured_resolver(dns_server):
    dns_server.zone["api.example.test"] = ["10.0.0.7"]
    assert run(DnsCheck(1, "api.example.test", dns_server.address)).ok


def test_dns_expected_address_must_be_among_the_answers(dns_server):
    dns_server.zone["api.example.test"] = ["10.0.0.7", "10.0.0.8"]
    assert run(DnsCheck(1, "api.example.test", dns_server.address, "10.0.0.8")).ok
    failed = run(DnsCheck(1, "api.example.test", dns_server.address, "10.0.0.9"))
    assert failed.error == "api.example.test resolves to 10.0.0.7, 10.0.0.8, expected 10.0.0.9"


def test_dns_ipv6_expectation_asks_for_aaaa(dns_server):
    dns_server.zone["v6.example.test"] = ["10.0.0.1", "2001:db8::1"]
    assert run(DnsCheck(1, "v6.example.test", dns_server.address, "2001:db8::1")).ok


def test_dns_unknown_name_fails_with_nxdomain(dns_server):
    failed = run(DnsCheck(1, "gone.example.test", dns_server.address))
    assert failed.error == "gone.example.test does not exist (NXDOMAIN)"


def test_dns_name_without_an_address_record_fails(dns_server):
    dns_server.zone["v6only.example.test"] = ["2001:db8::2"]
    failed = run(DnsCheck(1, "v6only.example.test", dns_server.address))
    assert failed.error == "v6only.example.test has no A record"


def test_dns_resolver_that_does_not_answer_times_out(silent_udp_port):
    failed = run(DnsCheck(1, "api.example.test", f"127.0.0.1:{silent_udp_port}", timeout_seconds=0.5))
    assert failed.error == "no answer from the resolver within 0.5 s"


def test_resolver_addresses_with_and_without_port():
    assert parse_resolver("10.0.0.53") == ("10.0.0.53", 53)
    assert parse_resolver("127.0.0.1:5353") == ("127.0.0.1", 5353)
    assert parse_resolver("[::1]:5353") == ("::1", 5353)
