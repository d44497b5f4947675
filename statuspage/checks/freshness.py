"""Freshness and backlog: a number (data age, queue depth) against degraded/outage thresholds.

The number comes from an endpoint's JSON (pulled here) or from a heartbeat ping's JSON body
(pushed; see statuspage.probes.ping.record_ping). A growing backlog is how the outage in
CONTEXT.md began.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

import aiohttp
from django.utils.translation import gettext as _

from statuspage.checks.expressions import ExpressionError, judge_number, parse_value_path
from statuspage.checks.http import fetch_text
from statuspage.checks.outcome import CheckOutcome
from statuspage.checks.registry import ProbeKind, register
from statuspage.statuses import ComponentStatus

if TYPE_CHECKING:
    from statuspage.models import Probe

# A number read from JSON and judged against thresholds: freshness probes, heartbeat pings.
NUMBER_FIELDS = ("value_path", "degraded_above", "outage_above")
NUMBER_VALIDATORS = {"value_path": parse_value_path}


def number_outcome(
    path: str,
    body: str,
    degraded_above,
    outage_above,
    latency_ms: float = 0,
    status_code: int | None = None,
) -> CheckOutcome:
    try:
        error, severity = judge_number(path, json.loads(body), degraded_above, outage_above)
    except json.JSONDecodeError:
        error, severity = "body is not JSON", "outage"
    except ExpressionError as exc:
        error, severity = str(exc), "outage"
    status = ComponentStatus.DEGRADED_PERFORMANCE if severity == "degraded" else ""
    return CheckOutcome(not error, latency_ms, status_code, error[:500], status=status)


@dataclass(frozen=True)
class FreshnessCheck:
    probe_id: int
    url: str
    value_path: str
    degraded_above: float | None = None
    outage_above: float | None = None
    timeout_seconds: float = 10
    headers: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_probe(cls, probe) -> FreshnessCheck:
        headers = tuple((str(k), str(v)) for k, v in (probe.headers or {}).items())
        return cls(
            probe.id,
            probe.url,
            probe.value_path,
            probe.degraded_above,
            probe.outage_above,
            probe.timeout_seconds,
            headers,
        )

    async def run(self, session: aiohttp.ClientSession) -> CheckOutcome:
        fetched = await fetch_text(session, self.url, self.timeout_seconds, self.headers)
        if isinstance(fetched, CheckOutcome):
            return fetched
        return number_outcome(
            self.value_path,
            fetched.text,
            self.degraded_above,
            self.outage_above,
            fetched.latency_ms,
            fetched.status,
        )


def threshold_problems(probe: Probe) -> dict[str, str]:
    """A number read needs a threshold to be judged by, and degraded comes before outage."""
    errors = {}
    degraded, outage = probe.degraded_above, probe.outage_above
    if probe.value_path and degraded is None and outage is None:
        errors["outage_above"] = _("Give a degraded or an outage threshold for the value.")
    if degraded is not None and outage is not None and degraded > outage:
        errors["degraded_above"] = _("The degraded threshold must not exceed the outage one.")
    return errors


@register
class Freshness(ProbeKind):
    name = "freshness"
    check = FreshnessCheck
    required = ("url", "value_path")
    fields = ("url", *NUMBER_FIELDS, "headers")
    validators = NUMBER_VALIDATORS

    def cross_problems(self, probe: Probe) -> dict[str, str]:
        return threshold_problems(probe)
