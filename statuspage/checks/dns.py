"""DNS checks with dnspython: a name has records of a type, optionally including an expected one.

A and AAAA compare addresses; CNAME, MX and NS compare host names (case and the final dot
do not matter; MX compares the exchange); TXT compares a record's whole text (its strings
joined, as SPF and DKIM read them).
"""

from __future__ import annotations

import ipaddress
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import dns.asyncresolver
import dns.exception
import dns.name
import dns.resolver

from statuspage.checks.expressions import ExpressionError
from statuspage.checks.outcome import CheckOutcome
from statuspage.checks.registry import ProbeKind, parse_error, register

if TYPE_CHECKING:
    from statuspage.models import Probe

RECORD_TYPES = ("A", "AAAA", "CNAME", "MX", "NS", "TXT")
HOST_TYPES = ("CNAME", "MX", "NS")
IP_VERSION = {"A": 4, "AAAA": 6}


def parse_resolver(text: str) -> tuple[str, int]:
    """'127.0.0.1', '127.0.0.1:5353' or '[::1]:53' -> (address, port)."""
    text = text.strip()
    if text.startswith("["):
        address, _, port = text[1:].partition("]:")
        return address.rstrip("]"), int(port or 53)
    if text.count(":") == 1:
        address, port = text.split(":")
        return address, int(port)
    return text, 53


def host_text(name: dns.name.Name | str) -> str:
    return str(name).rstrip(".").lower()


def validate_expected_answer(record_type: str, expected: str) -> None:
    """The expectation must be something the record type can answer."""
    if record_type in ("", "A", "AAAA"):
        try:
            version = ipaddress.ip_address(expected).version
        except ValueError:
            raise ExpressionError(
                f"'{expected}' is not an IP address (expected for "
                f"{record_type or 'an address'} record)."
            ) from None
        if record_type and version != IP_VERSION[record_type]:
            raise ExpressionError(
                f"An {record_type} record holds an IPv{IP_VERSION[record_type]} "
                f"address, not '{expected}'."
            )
    elif record_type in HOST_TYPES:
        try:
            dns.name.from_text(expected)
        except dns.exception.DNSException:
            raise ExpressionError(
                f"'{expected}' is not a host name (expected for a {record_type} record)."
            ) from None
        if " " in expected.strip():
            raise ExpressionError(
                f"Give the host name alone, e.g. 'mail.example.com', not '{expected}'."
            )


@dataclass(frozen=True)
class DnsCheck:
    probe_id: int
    name: str
    resolver: str = ""
    expected_address: str = ""
    timeout_seconds: float = 5
    record_type: str = ""

    @classmethod
    def from_probe(cls, probe) -> DnsCheck:
        return cls(
            probe.id,
            probe.host,
            probe.resolver,
            probe.expected_address,
            probe.timeout_seconds,
            probe.record_type,
        )

    @property
    def rdtype(self) -> str:
        if self.record_type:
            return self.record_type
        if self.expected_address and ipaddress.ip_address(self.expected_address).version == 6:
            return "AAAA"
        return "A"

    def make_resolver(self) -> dns.asyncresolver.Resolver:
        if not self.resolver:
            return dns.asyncresolver.Resolver()
        resolver = dns.asyncresolver.Resolver(configure=False)
        address, port = parse_resolver(self.resolver)
        resolver.nameservers = [address]
        resolver.port = port
        return resolver

    def answers(self, answer) -> list[str]:
        """Each record as it is compared with the expectation (MX by preference)."""
        if self.rdtype == "MX":
            return [host_text(r.exchange) for r in sorted(answer, key=lambda r: r.preference)]
        if self.rdtype in HOST_TYPES:
            return sorted(host_text(r.target) for r in answer)
        if self.rdtype == "TXT":
            return sorted(b"".join(r.strings).decode(errors="replace") for r in answer)
        return sorted(r.to_text() for r in answer)

    def mismatch(self, found: list[str]) -> str:
        expected = self.expected_address
        if self.rdtype in HOST_TYPES:
            expected = host_text(expected)
        if not expected or expected in found:
            return ""
        if self.rdtype in ("A", "AAAA"):
            return f"{self.name} resolves to {', '.join(found)}, expected {expected}"
        if self.rdtype == "TXT":
            quoted = ", ".join(f'"{text}"' for text in found)
            return f'{self.name} TXT is {quoted}, expected "{expected}"'
        return f"{self.name} {self.rdtype} is {', '.join(found)}, expected {expected}"

    async def run(self, session=None) -> CheckOutcome:
        started = time.perf_counter()
        error = ""
        try:
            answer = await self.make_resolver().resolve(
                self.name, self.rdtype, lifetime=self.timeout_seconds, search=False
            )
            error = self.mismatch(self.answers(answer))
        except dns.resolver.NXDOMAIN:
            error = f"{self.name} does not exist (NXDOMAIN)"
        except dns.resolver.NoAnswer:
            error = f"{self.name} has no {self.rdtype} record"
        except dns.exception.Timeout:
            error = f"no answer from the resolver within {self.timeout_seconds:g} s"
        except dns.exception.DNSException as exc:
            error = f"DNS error: {exc}"
        latency = round((time.perf_counter() - started) * 1000, 1)
        return CheckOutcome(not error, latency, None, error[:500])


@register
class Dns(ProbeKind):
    name = "dns"
    check = DnsCheck
    required = ("host",)
    fields = ("host", "resolver", "record_type", "expected_address")

    def cross_problems(self, probe: Probe) -> dict[str, str]:
        if not probe.expected_address:
            return {}
        return parse_error(
            "expected_address", validate_expected_answer, probe.record_type, probe.expected_address
        )
