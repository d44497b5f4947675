"""TCP and DNS checks against real loopback servers (a banner server, a dnspython DNS server)."""

import socket

import pytest
from django.core.exceptions import ValidationError

from statuspage.checks.dns import DnsCheck, parse_resolver
from statuspage.checks.tcp import TcpCheck
from statuspage.models import Probe
from statuspage.probes.engine import run_checks_blocking
from tests.factories import make_component


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
    failed = run(
        DnsCheck(1, "api.example.test", f"127.0.0.1:{silent_udp_port}", timeout_seconds=0.5)
    )
    assert failed.error == "no answer from the resolver within 0.5 s"


def test_resolver_addresses_with_and_without_port():
    assert parse_resolver("10.0.0.53") == ("10.0.0.53", 53)
    assert parse_resolver("127.0.0.1:5353") == ("127.0.0.1", 5353)
    assert parse_resolver("[::1]:5353") == ("::1", 5353)


def test_dns_cname_names_its_target_case_and_final_dot_aside(dns_server):
    dns_server.zone["www.example.test"] = {"CNAME": ["Web.Example.test."]}
    assert run(DnsCheck(1, "www.example.test", dns_server.address, record_type="CNAME")).ok
    assert run(
        DnsCheck(
            1, "www.example.test", dns_server.address, "web.example.test.", record_type="CNAME"
        )
    ).ok
    failed = run(
        DnsCheck(1, "www.example.test", dns_server.address, "cdn.example.test", record_type="CNAME")
    )
    assert failed.error == "www.example.test CNAME is web.example.test, expected cdn.example.test"


def test_dns_mx_expected_exchange_must_be_among_them(dns_server):
    dns_server.zone["example.test"] = {"MX": ["20 mx2.example.test.", "10 mx1.example.test."]}
    assert run(
        DnsCheck(1, "example.test", dns_server.address, "mx2.example.test", record_type="MX")
    ).ok
    failed = run(
        DnsCheck(1, "example.test", dns_server.address, "mail.example.test", record_type="MX")
    )
    assert failed.error == (
        "example.test MX is mx1.example.test, mx2.example.test, expected mail.example.test"
    )


def test_dns_txt_compares_a_records_whole_text(dns_server):
    dns_server.zone["example.test"] = {
        "TXT": ['"v=spf1 " "include:mail.example.test -all"', '"site-verification=abc123"']
    }
    assert run(
        DnsCheck(
            1,
            "example.test",
            dns_server.address,
            "v=spf1 include:mail.example.test -all",
            record_type="TXT",
        )
    ).ok
    failed = run(
        DnsCheck(1, "example.test", dns_server.address, "site-verification=xyz", record_type="TXT")
    )
    assert failed.error == (
        'example.test TXT is "site-verification=abc123", '
        '"v=spf1 include:mail.example.test -all", '
        'expected "site-verification=xyz"'
    )


def test_dns_ns_without_an_expectation_only_needs_a_record(dns_server):
    dns_server.zone["example.test"] = {"NS": ["ns1.example.test.", "ns2.example.test."]}
    assert run(DnsCheck(1, "example.test", dns_server.address, record_type="NS")).ok
    assert run(
        DnsCheck(1, "example.test", dns_server.address, "NS2.example.test", record_type="NS")
    ).ok
    dns_server.zone["bare.example.test"] = {"A": ["10.0.0.1"]}
    failed = run(DnsCheck(1, "bare.example.test", dns_server.address, record_type="NS"))
    assert failed.error == "bare.example.test has no NS record"


@pytest.mark.parametrize(
    "record_type, expected, message",
    [
        ("", "mail.example.test", "'mail.example.test' is not an IP address"),
        ("A", "2001:db8::1", "An A record holds an IPv4 address, not '2001:db8::1'."),
        ("MX", "10 mail.example.test", "Give the host name alone, e.g. 'mail.example.com'"),
    ],
)
def test_an_expected_answer_the_record_type_cannot_give_is_refused(
    record_type, expected, message, db
):
    probe = Probe(
        component=make_component(),
        name="dns",
        kind=Probe.Kind.DNS,
        host="example.test",
        record_type=record_type,
        expected_address=expected,
    )
    with pytest.raises(ValidationError) as error:
        probe.full_clean()
    assert message in error.value.message_dict["expected_address"][0]


def test_the_engine_and_the_agents_run_the_configured_record_type(dns_server, db):
    from statuspage.checks import build_check
    from statuspage.probes.agents import ASSIGNED_FIELDS

    dns_server.zone["example.test"] = {"MX": ["10 mx1.example.test."]}
    probe = Probe.objects.create(
        component=make_component(),
        name="mail",
        kind=Probe.Kind.DNS,
        host="example.test",
        resolver=dns_server.address,
        record_type="MX",
        expected_address="mx1.example.test",
    )
    assert run(build_check(probe)).ok
    spec = {f: getattr(probe, f) for f in ASSIGNED_FIELDS}
    assert build_check(Probe(**spec)) == build_check(probe)
