"""The heartbeat ping URLs: /ping/<key>, /ping/<key>/start, /ping/<key>/fail (GET, POST, HEAD).

The key in the URL is the credential, as with Healthchecks: cron jobs and pipelines can
call it with curl and nothing else. The view only records the ping; the verdict logic
lives in statuspage.checks.heartbeat; `record_ping` applies it under the probe's row lock.
Pings are rate limited per key and per client address
(settings.RATE_LIMITS["ping"]): a runaway loop gets 429 with Retry-After, not the database.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from notifiers.ratelimit import client_ip, wait_seconds
from statuspage import clock
from statuspage.checks.heartbeat import PingKind, outcome_of_ping
from statuspage.models import Probe
from statuspage.probes.engine import apply_and_store

MAX_PING_BODY = 10_000
RATE_SCOPE = "ping"


@csrf_exempt
@require_http_methods(["GET", "POST", "HEAD"])
def ping(request: HttpRequest, key, kind: str = PingKind.SUCCESS) -> HttpResponse:
    wait = wait_seconds(RATE_SCOPE, client_ip(request), str(key), clock.now())
    if wait:
        response = HttpResponse(
            f"Too many pings for this URL or from this address: retry in {wait} s.\n",
            status=429,
            content_type="text/plain",
        )
        response["Retry-After"] = str(wait)
        return response
    probe = (
        Probe.objects.filter(ping_key=key, kind=Probe.Kind.HEARTBEAT).only("id", "enabled").first()
    )
    if probe is None:
        return HttpResponse(
            "Unknown ping URL: no heartbeat probe has this key.\n",
            status=404,
            content_type="text/plain",
        )
    if not probe.enabled:
        return HttpResponse("OK (probe disabled: ping ignored)\n", content_type="text/plain")
    body = request.body[:MAX_PING_BODY].decode("utf-8", errors="replace")
    record_ping(probe.id, kind, body, clock.now())
    response = HttpResponse("OK\n", content_type="text/plain")
    response["Cache-Control"] = "no-store"
    return response


def record_ping(probe_id: int, kind: str, body: str, now: datetime) -> str:
    """Take a ping under the probe's row lock; success and fail are results, start is not."""
    with transaction.atomic():
        probe = Probe.objects.select_for_update().select_related("component").get(id=probe_id)
        # A ping moves the deadline: the engine re-plans the next evaluation on its next tick.
        probe.next_run_at = None
        if kind == PingKind.START:
            probe.last_start_at = now
            probe.save(update_fields=["last_start_at", "next_run_at"])
            return ""
        probe.last_ping_at = now
        probe.save(update_fields=["last_ping_at", "next_run_at"])
        outcome = outcome_of_ping(probe, kind, body)
        assert outcome is not None  # only a start ping has none, and it returned above
        return apply_and_store(probe, outcome, now)


urlpatterns = [
    path("<uuid:key>", ping, name="ping"),
    path("<uuid:key>/start", ping, {"kind": PingKind.START}, name="ping-start"),
    path("<uuid:key>/fail", ping, {"kind": PingKind.FAIL}, name="ping-fail"),
]
