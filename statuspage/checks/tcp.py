"""TCP checks: the port accepts a connection and, optionally, answers with the expected banner."""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass

from statuspage.checks.expressions import validate_regex
from statuspage.checks.outcome import CheckOutcome
from statuspage.checks.registry import ProbeKind, register

MAX_BANNER_BYTES = 4096


@dataclass(frozen=True)
class TcpCheck:
    probe_id: int
    host: str
    port: int
    timeout_seconds: float = 10
    send: str = ""
    expect: str = ""

    @classmethod
    def from_probe(cls, probe) -> TcpCheck:
        expect = probe.body_regex or (re.escape(probe.body_contains) if probe.body_contains else "")
        return cls(probe.id, probe.host, probe.port, probe.timeout_seconds, probe.body, expect)

    async def run(self, session=None) -> CheckOutcome:
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self.timeout_seconds):
                banner = await self.converse()
        except TimeoutError:
            return self.outcome(started, f"timed out after {self.timeout_seconds:g} s")
        except OSError as exc:
            return self.outcome(
                started, f"cannot connect to {self.host}:{self.port}: {exc.strerror or exc}"
            )
        if self.expect and not re.search(self.expect, banner):
            return self.outcome(started, f"answer {banner[:80]!r} does not match /{self.expect}/")
        return self.outcome(started, "")

    async def converse(self) -> str:
        """Connect, send, and read until the expected answer appears (or the peer closes)."""
        reader, writer = await asyncio.open_connection(self.host, self.port)
        try:
            if self.send:
                writer.write(self.send.encode())
                await writer.drain()
            received = b""
            while self.expect and len(received) < MAX_BANNER_BYTES:
                chunk = await reader.read(MAX_BANNER_BYTES)
                received += chunk
                if not chunk or re.search(self.expect, received.decode(errors="replace")):
                    break
            return received.decode(errors="replace")
        finally:
            writer.close()

    def outcome(self, started: float, error: str) -> CheckOutcome:
        latency = round((time.perf_counter() - started) * 1000, 1)
        return CheckOutcome(not error, latency, None, error[:500])


@register
class Tcp(ProbeKind):
    name = "tcp"
    check = TcpCheck
    required = ("host", "port")
    fields = ("host", "port", "body", "body_contains", "body_regex")
    validators = {"body_regex": validate_regex}
