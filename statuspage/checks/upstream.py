"""Upstream providers: a dependency's own status, from its Statuspage v2 JSON or RSS/Atom feed.

An active upstream incident marks our dependent component degraded (not down: it is their
outage, and our service may still work), and the incident says "upstream: <provider>
reports ...". Feed text is untrusted: tags are stripped and it is only ever plain text.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

import aiohttp
from django.utils.html import strip_tags

from statuspage import clock
from statuspage.checks.feeds import active_report
from statuspage.checks.http import fetch_text
from statuspage.checks.outcome import CheckOutcome
from statuspage.checks.registry import ProbeKind, register
from statuspage.statuses import ComponentStatus

MAX_REPORT = 300


def plain(text: str) -> str:
    return " ".join(strip_tags(text or "").split())[:MAX_REPORT]


def statuspage_report(document: dict) -> str:
    """The provider's own words for an active problem, or '' when all is well."""
    status = document.get("status") or {}
    if status.get("indicator", "none") == "none":
        return ""
    names = [
        i.get("name", "")
        for i in document.get("incidents") or []
        if i.get("status") not in ("resolved", "postmortem")
    ]
    description = status.get("description") or status.get("indicator")
    return plain(f"{description}: {names[0]}" if names and names[0] else str(description or ""))


def feed_report(text: str, window: timedelta, now: datetime) -> str:
    """The newest item within the window whose status, read where its product writes it,
    is not closed or planned (statuspage.checks.feeds)."""
    return active_report(text, window, now)


@dataclass(frozen=True)
class UpstreamCheck:
    probe_id: int
    provider: str
    url: str
    window_minutes: int = 360
    timeout_seconds: float = 10

    @classmethod
    def from_probe(cls, probe) -> UpstreamCheck:
        return cls(
            probe.id, probe.name, probe.url, probe.feed_window_minutes, probe.timeout_seconds
        )

    async def run(self, session: aiohttp.ClientSession) -> CheckOutcome:
        fetched = await fetch_text(session, self.url, self.timeout_seconds)
        if isinstance(fetched, CheckOutcome):
            # Their status page being unreachable is not their outage: say so to staff only.
            return CheckOutcome(
                True,
                fetched.latency_ms,
                fetched.status_code,
                "",
                warning=f"cannot read {self.provider}'s status: {fetched.error}",
            )
        report = self.report(fetched.text)
        if not report:
            return CheckOutcome(True, fetched.latency_ms, fetched.status)
        return CheckOutcome(
            False,
            fetched.latency_ms,
            fetched.status,
            f"upstream: {self.provider} reports {report}",
            status=ComponentStatus.DEGRADED_PERFORMANCE,
        )

    def report(self, text: str) -> str:
        if text.lstrip().startswith("{"):
            try:
                return statuspage_report(json.loads(text))
            except (json.JSONDecodeError, AttributeError):
                return ""
        return feed_report(text, timedelta(minutes=self.window_minutes), clock.now())


@register
class Upstream(ProbeKind):
    name = "upstream"
    check = UpstreamCheck
    required = ("url",)
    fields = ("url", "feed_window_minutes")
