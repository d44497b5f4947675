"""Three plain GET endpoints, cheap and without session, CSRF or login.

/healthz answers while the process serves requests and touches nothing else. /readyz says
whether this node can work (database and broker reachable): load balancers take a node out
on its 503. /metrics is for Prometheus, from the networks OPERATIONS["METRICS_ALLOWED_NETWORKS"]
allows (loopback and private by default), never through a proxy.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from prometheus_client import CONTENT_TYPE_PLAIN_0_0_4

from statuspage.operations import health, metrics

PROXY_HEADERS = ("HTTP_X_FORWARDED_FOR", "HTTP_FORWARDED", "HTTP_X_REAL_IP")


@never_cache
@require_safe
def healthz(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok\n", content_type="text/plain")


@never_cache
@require_safe
def readyz(request: HttpRequest) -> JsonResponse:
    checks = health.readiness()
    failed = sorted(name for name, problem in checks.items() if problem)
    body = {
        "status": "unavailable" if failed else "ready",
        "failed": failed,
        "checks": {name: problem or "ok" for name, problem in checks.items()},
    }
    return JsonResponse(body, status=503 if failed else 200)


@never_cache
@require_safe
def prometheus_metrics(request: HttpRequest) -> HttpResponse:
    if not may_scrape(request):
        return HttpResponse("metrics are not served to this address\n", status=403)
    return HttpResponse(metrics.exposition(), content_type=CONTENT_TYPE_PLAIN_0_0_4)


def may_scrape(request: HttpRequest) -> bool:
    """A direct request from an allowed network. A proxied one (the load balancer
    forwarding a visitor) is refused even from loopback: the visitor is elsewhere."""
    if any(header in request.META for header in PROXY_HEADERS):
        return False
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    networks = settings.OPERATIONS["METRICS_ALLOWED_NETWORKS"]
    return any(address in ipaddress.ip_network(net, strict=False) for net in networks)
