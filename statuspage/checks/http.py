"""HTTP(S) checks on one shared aiohttp session: status, body, JSON field, latency, TLS expiry."""

from __future__ import annotations

import asyncio
import json
import re
import ssl
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

import aiohttp
from django.conf import settings

from statuspage import clock
from statuspage.checks.expressions import (
    ExpressionError,
    parse_expected_codes,
    parse_json_check,
    validate_regex,
)
from statuspage.checks.outcome import CheckOutcome
from statuspage.checks.registry import ProbeKind, register
from statuspage.statuses import ComponentStatus

DEGRADED = ComponentStatus.DEGRADED_PERFORMANCE

MAX_BODY_BYTES = 1 << 20


@dataclass(frozen=True)
class HttpCheck:
    """What the engine needs of an HTTP probe to run it, detached from the ORM."""

    probe_id: int
    url: str
    method: str = "GET"
    timeout_seconds: float = 10
    expected_codes: str | int = "200"
    headers: tuple[tuple[str, str], ...] = ()
    body: str = ""
    body_contains: str = ""
    body_regex: str = ""
    json_check: str = ""
    degraded_latency_ms: int | None = None
    down_latency_ms: int | None = None
    follow_redirects: bool = False
    tls_expiry_warning_days: int = 14

    @classmethod
    def from_probe(cls, probe) -> HttpCheck:
        return cls(
            probe.id,
            probe.url,
            probe.method,
            probe.timeout_seconds,
            probe.expected_codes,
            tuple((str(k), str(v)) for k, v in (probe.headers or {}).items()),
            probe.body,
            probe.body_contains,
            probe.body_regex,
            probe.json_check,
            probe.degraded_latency_ms,
            probe.down_latency_ms,
            probe.follow_redirects,
            probe.tls_expiry_warning_days,
        )

    async def run(self, session: aiohttp.ClientSession) -> CheckOutcome:
        return await run_http_check(session, self)


async def run_http_check(session: aiohttp.ClientSession, check: HttpCheck) -> CheckOutcome:
    started = time.perf_counter()

    def elapsed_ms() -> float:
        return round((time.perf_counter() - started) * 1000, 1)

    try:
        async with session.request(
            check.method,
            check.url,
            headers=dict(check.headers),
            data=check.body.encode() if check.body else None,
            timeout=aiohttp.ClientTimeout(total=check.timeout_seconds),
            allow_redirects=check.follow_redirects,
        ) as response:
            body = await response.content.read(MAX_BODY_BYTES)
            latency = elapsed_ms()
        expiry = await certificate_expiry(check.url, check.timeout_seconds)
        return judge(check, response, body, latency, expiry)
    except TimeoutError:
        return CheckOutcome(
            False, elapsed_ms(), None, f"timed out after {check.timeout_seconds:g} s"
        )
    except aiohttp.ClientSSLError as exc:
        return CheckOutcome(False, elapsed_ms(), None, f"TLS error: {exc}"[:500])
    except aiohttp.ClientError as exc:
        return CheckOutcome(False, elapsed_ms(), None, f"{type(exc).__name__}: {exc}"[:500])


CERT_RECHECK_SECONDS = 6 * 3600
_expiry_cache: dict[tuple[str, int], tuple[float, datetime | None]] = {}


async def certificate_expiry(url: str, timeout: float) -> datetime | None:
    """notAfter of the server's certificate, read on a separate TLS handshake every few
    hours per host: expiry moves slowly, and aiohttp does not expose a pooled connection's
    certificate once the body is read."""
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        return None
    key = (parts.hostname, parts.port or 443)
    cached = _expiry_cache.get(key)
    if cached and time.monotonic() - cached[0] < CERT_RECHECK_SECONDS:
        return cached[1]
    expiry = None
    try:
        async with asyncio.timeout(timeout):
            _, writer = await asyncio.open_connection(*key, ssl=tls_context_for_handshake())
        cert = writer.get_extra_info("peercert")
        writer.close()
        if cert and "notAfter" in cert:
            expiry = datetime.fromtimestamp(ssl.cert_time_to_seconds(cert["notAfter"]), UTC)
    except (OSError, TimeoutError, ssl.SSLError):
        return None
    _expiry_cache[key] = (time.monotonic(), expiry)
    return expiry


def judge(
    check: HttpCheck, response, body: bytes, latency_ms: float, expiry: datetime | None
) -> CheckOutcome:
    """The first reason the response fails, else a pass with any warning for staff."""
    status = response.status
    error = (
        status_failure(check, response)
        or content_failure(check, body)
        or latency_failure(check, latency_ms)
    )
    if error:
        return CheckOutcome(False, latency_ms, status, error[:500])
    if check.degraded_latency_ms and latency_ms > check.degraded_latency_ms:
        slow = f"slow: {latency_ms:.0f} ms (degraded above {check.degraded_latency_ms} ms)"
        return CheckOutcome(False, latency_ms, status, slow, status=DEGRADED)
    return CheckOutcome(True, latency_ms, status, "", tls_warning(check, expiry))


def status_failure(check: HttpCheck, response) -> str:
    if response.status in parse_expected_codes(str(check.expected_codes)):
        return ""
    error = f"HTTP {response.status}, expected {check.expected_codes}"
    location = response.headers.get("Location")
    if location and 300 <= response.status < 400:
        error += f" (redirect to {location} not followed)"
    return error


def content_failure(check: HttpCheck, body: bytes) -> str:
    text = body.decode("utf-8", errors="replace")
    if check.body_contains and check.body_contains not in text:
        return f"body does not contain {check.body_contains!r}"
    if check.body_regex and not re.search(check.body_regex, text):
        return f"body does not match /{check.body_regex}/"
    if check.json_check:
        try:
            return parse_json_check(check.json_check).failure(json.loads(text))
        except json.JSONDecodeError:
            return "body is not JSON"
        except ExpressionError as error:
            return str(error)
    return ""


def latency_failure(check: HttpCheck, latency_ms: float) -> str:
    if check.down_latency_ms and latency_ms > check.down_latency_ms:
        return f"too slow: {latency_ms:.0f} ms, limit {check.down_latency_ms} ms"
    return ""


def tls_warning(check: HttpCheck, expiry: datetime | None) -> str:
    if expiry is None:
        return ""
    days = (expiry - clock.now()).total_seconds() / 86400
    if days >= check.tls_expiry_warning_days:
        return ""
    return f"TLS certificate expires in {max(days, 0):.0f} days ({expiry:%Y-%m-%d})"


def tls_context() -> ssl.SSLContext | bool:
    """Verify certificates; ENGINE["CA_FILE"] adds a private CA (internal endpoints, tests)."""
    ca_file = settings.ENGINE.get("CA_FILE")
    return ssl.create_default_context(cafile=ca_file) if ca_file else True


def tls_context_for_handshake() -> ssl.SSLContext:
    context = tls_context()
    return context if isinstance(context, ssl.SSLContext) else ssl.create_default_context()


def new_session(limit: int, region: str = "") -> aiohttp.ClientSession:
    """One session per engine: keep-alive connections are reused across checks. The
    User-Agent names the region, so the monitored side can tell vantage points apart."""
    connector = aiohttp.TCPConnector(limit=limit, ttl_dns_cache=60, ssl=tls_context())
    agent = f"statuspage-probe/1.0 (region {region})" if region else "statuspage-probe/1.0"
    headers = {"User-Agent": agent}
    return aiohttp.ClientSession(connector=connector, headers=headers)


@dataclass(frozen=True)
class Fetched:
    status: int
    text: str
    latency_ms: float


async def fetch_text(
    session: aiohttp.ClientSession,
    url: str,
    timeout: float,
    headers: tuple[tuple[str, str], ...] = (),
) -> Fetched | CheckOutcome:
    """GET a document for a check that reads it (freshness, upstream): the text, or the
    failed outcome that says why there is none."""
    started = time.perf_counter()

    def elapsed_ms() -> float:
        return round((time.perf_counter() - started) * 1000, 1)

    try:
        async with session.get(
            url, headers=dict(headers), timeout=aiohttp.ClientTimeout(total=timeout)
        ) as response:
            raw = await response.content.read(MAX_BODY_BYTES)
            if response.status >= 400:
                return CheckOutcome(False, elapsed_ms(), response.status, f"HTTP {response.status}")
            return Fetched(response.status, raw.decode("utf-8", "replace"), elapsed_ms())
    except TimeoutError:
        return CheckOutcome(False, elapsed_ms(), None, f"timed out after {timeout:g} s")
    except aiohttp.ClientError as exc:
        return CheckOutcome(False, elapsed_ms(), None, f"{type(exc).__name__}: {exc}"[:500])


@register
class Http(ProbeKind):
    name = "http"
    check = HttpCheck
    required = ("url",)
    fields = (
        "url",
        "method",
        "headers",
        "body",
        "expected_codes",
        "body_contains",
        "body_regex",
        "json_check",
        "degraded_latency_ms",
        "down_latency_ms",
        "follow_redirects",
        "tls_expiry_warning_days",
    )
    validators = {
        "expected_codes": parse_expected_codes,
        "json_check": parse_json_check,
        "body_regex": validate_regex,
    }
