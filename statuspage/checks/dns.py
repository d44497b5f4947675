"""DNS checks with dnspython: a name resolves, optionally to an expected address."""

from __future__ import annotations

import ipaddress
import time
from dataclasses import dataclass

import dns.asyncresolver
import dns.exception
import dns.resolver

from statuspage.models import CheckOutcome


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


@dataclass(frozen=True)
class DnsCheck:
    probe_id: int
    name: str
    resolver: str = ""
    expected_address: str = ""
    timeout_seconds: float = 5

    @classmethod
    def from_probe(cls, probe) -> DnsCheck:
        return cls(probe.id, probe.host, probe.resolver, probe.expected_address, probe.timeout_seconds)

    @property
    def rdtype(self) -> str:
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

    async def run(self, session=None) -> CheckOutcome:
        started = time.perf_counter()
        error = ""
        try:
            answer = await self.make_resolver().resolve(
                self.name, self.rdtype, lifetime=self.timeout_seconds, search=False
            )
            addresses = sorted(r.to_text() for r in answer)
            if self.expected_address and self.expected_address not in addresses:
                error = f"{self.name} resolves to {', '.join(addresses)}, expected {self.expected_address}"
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
