"""The probe agent API: agents in other regions pull their assignments and push results.

Authenticated by the agent's bearer token and rate limited (settings.RATE_LIMITS["agent"]);
results are validated field by field (a 400 names every bad field, and nothing of that
batch is stored) and then recorded through the same region-quorum path as the engine's own
results.
"""

from __future__ import annotations

import functools
import json
from datetime import datetime, timedelta

from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.utils.dateparse import parse_datetime
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from notifiers.ratelimit import client_ip, wait_seconds
from statuspage import clock
from statuspage.checks import network_fields, pushed_kinds
from statuspage.models import CheckOutcome, ComponentStatus, Probe, ProbeAgent
from statuspage.probes.engine import record_region_outcome

# What an agent needs to build the checks of every kind it runs (statuspage.checks).
ASSIGNED_FIELDS = ["id", "name", "kind", "interval_seconds", "timeout_seconds", *network_fields()]
MAX_RESULTS_PER_POST = 5000
MAX_FUTURE = timedelta(seconds=60)
MAX_AGE = timedelta(hours=24)
RATE_SCOPE = "agent"


def bearer_token(request: HttpRequest) -> str:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def agent_for(request: HttpRequest) -> ProbeAgent | None:
    return ProbeAgent.authenticate(bearer_token(request))


def rate_limited(view):
    """Per client address (token guessing) and per token (a runaway agent), before any
    authentication: past the budget, 429 with Retry-After and nothing else done."""

    @functools.wraps(view)
    def limited(request: HttpRequest) -> JsonResponse:
        token = ProbeAgent.hash_token(bearer_token(request))
        wait = wait_seconds(RATE_SCOPE, client_ip(request), token, clock.now())
        if not wait:
            return view(request)
        response = JsonResponse(
            {
                "error": f"Too many requests from this agent or address: retry in {wait} s.",
                "retry_after": wait,
            },
            status=429,
        )
        response["Retry-After"] = str(wait)
        return response

    return limited


def unauthorized() -> JsonResponse:
    response = JsonResponse(
        {"error": "A valid agent token is required (Authorization: Bearer ...)."}, status=401
    )
    response["WWW-Authenticate"] = "Bearer"
    return response


def assigned_to(region: str) -> list[Probe]:
    probes = Probe.objects.filter(enabled=True).exclude(kind__in=pushed_kinds())
    return [p for p in probes if region in (p.regions or [])]


@require_GET
@rate_limited
def assignments(request: HttpRequest) -> JsonResponse:
    agent = agent_for(request)
    if agent is None:
        return unauthorized()
    ProbeAgent.objects.filter(id=agent.id).update(last_seen_at=clock.now())
    probes = [{f: getattr(p, f) for f in ASSIGNED_FIELDS} for p in assigned_to(agent.region)]
    return JsonResponse({"region": agent.region, "probes": probes})


def parse_result(item, index: int, allowed: set[int], now: datetime, errors: dict):
    """One result as (probe_id, outcome, checked_at), or None with its errors recorded."""
    where = f"results[{index}]"
    if not isinstance(item, dict):
        errors[where] = "must be an object"
        return None
    before = len(errors)
    if item.get("probe_id") not in allowed:
        errors[f"{where}.probe_id"] = "not a probe assigned to this agent's region"
    checked_at = parse_datetime(str(item.get("checked_at", "")))
    if checked_at is None or checked_at.tzinfo is None:
        errors[f"{where}.checked_at"] = "must be an ISO 8601 time with an offset"
    elif not now - MAX_AGE <= checked_at <= now + MAX_FUTURE:
        errors[f"{where}.checked_at"] = "is too far from the server's clock"
    if not isinstance(item.get("ok"), bool):
        errors[f"{where}.ok"] = "must be true or false"
    latency = item.get("latency_ms")
    if isinstance(latency, bool) or not isinstance(latency, (int, float)) or latency < 0:
        errors[f"{where}.latency_ms"] = "must be a number of milliseconds"
    status = item.get("status", "")
    if status not in ("", *ComponentStatus.values):
        errors[f"{where}.status"] = "must be empty or a component status"
    if len(errors) > before:
        return None
    assert isinstance(latency, (int, float))  # checked above
    code = item.get("status_code")
    outcome = CheckOutcome(
        item["ok"],
        float(latency),
        code if isinstance(code, int) else None,
        str(item.get("error", ""))[:500],
        str(item.get("warning", ""))[:500],
        status,
    )
    return item["probe_id"], outcome, checked_at


@csrf_exempt
@require_POST
@rate_limited
def results(request: HttpRequest) -> JsonResponse:
    agent = agent_for(request)
    if agent is None:
        return unauthorized()
    try:
        items = json.loads(request.body).get("results")
    except (json.JSONDecodeError, AttributeError, UnicodeDecodeError):
        return JsonResponse({"errors": {"body": 'must be JSON: {"results": [...]}'}}, status=400)
    if not isinstance(items, list) or len(items) > MAX_RESULTS_PER_POST:
        return JsonResponse(
            {"errors": {"results": f"must be a list of at most {MAX_RESULTS_PER_POST} results"}},
            status=400,
        )
    now = clock.now()
    errors: dict[str, str] = {}
    allowed = {p.id for p in assigned_to(agent.region)}
    parsed = [parse_result(item, i, allowed, now, errors) for i, item in enumerate(items)]
    if errors:
        return JsonResponse({"errors": errors}, status=400)
    for probe_id, outcome, checked_at in sorted(parsed, key=lambda r: r[2]):
        record_region_outcome(probe_id, agent.region, outcome, checked_at)
    ProbeAgent.objects.filter(id=agent.id).update(last_seen_at=now)
    return JsonResponse({"accepted": len(parsed)})


urlpatterns = [
    path("assignments", assignments, name="agent-assignments"),
    path("results", results, name="agent-results"),
]
