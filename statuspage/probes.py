"""Running one check: no database here, only the network, so it can run many at once."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import aiohttp

from statuspage.models import CheckOutcome


@dataclass(frozen=True)
class HttpCheck:
    """What the engine needs of a probe to run it, detached from the ORM."""

    probe_id: int
    url: str
    method: str
    timeout_seconds: float
    expected_status: int


async def run_http_check(session: aiohttp.ClientSession, check: HttpCheck) -> CheckOutcome:
    started = time.perf_counter()

    def elapsed_ms() -> float:
        return round((time.perf_counter() - started) * 1000, 1)

    try:
        timeout = aiohttp.ClientTimeout(total=check.timeout_seconds)
        async with session.request(
            check.method, check.url, timeout=timeout, allow_redirects=False
        ) as response:
            await response.read()
            ok = response.status == check.expected_status
            error = "" if ok else f"HTTP {response.status}, expected {check.expected_status}"
            return CheckOutcome(ok, elapsed_ms(), response.status, error)
    except asyncio.TimeoutError:
        return CheckOutcome(False, elapsed_ms(), None, f"timed out after {check.timeout_seconds:g} s")
    except aiohttp.ClientError as exc:
        return CheckOutcome(False, elapsed_ms(), None, f"{type(exc).__name__}: {exc}"[:500])


def new_session(limit: int) -> aiohttp.ClientSession:
    connector = aiohttp.TCPConnector(limit=limit, ttl_dns_cache=60)
    headers = {"User-Agent": "statuspage-probe/1.0"}
    return aiohttp.ClientSession(connector=connector, headers=headers)
