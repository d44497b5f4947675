"""The public status page, incident permalinks and the incident history."""

from __future__ import annotations

from datetime import date, datetime

from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext
from django.views.decorators.http import require_http_methods

from incidents.models import Incident, IncidentUpdate
from statuspage import clock
from statuspage.models import Component
from statuspage.public.http import public_page
from statuspage.public.page import build_page, history_months
from statuspage.public.store import stored
from statuspage.public.unavailable import page_unknown


@require_http_methods(["GET", "HEAD"])
@stored("page", unreachable=page_unknown)
@public_page
def status_page(request: HttpRequest) -> HttpResponse:
    return render(request, "statuspage/index.html", {"view": build_page(clock.now())})


@require_http_methods(["GET", "HEAD"])
@public_page
def incident_detail(request: HttpRequest, public_id: str) -> HttpResponse:
    incident = get_object_or_404(
        Incident.objects.public().prefetch_related(
            Prefetch("updates", queryset=IncidentUpdate.objects.order_by("-display_at", "-id")),
            Prefetch("components", queryset=Component.objects.shown().order_by("name")),
        ),
        public_id=public_id,
    )
    return render(request, "statuspage/incident.html", {"incident": incident})


def parse_month(value: str) -> date | None:
    try:
        return datetime.strptime(value, "%Y-%m").date()
    except ValueError:
        return None


@require_http_methods(["GET", "HEAD"])
@public_page
def history(request: HttpRequest) -> HttpResponse:
    before = None
    if "before" in request.GET:
        before = parse_month(request.GET["before"])
        if before is None:
            return HttpResponseBadRequest(
                gettext("'before' must be a month written YYYY-MM, for example 2026-10."),
                content_type="text/plain; charset=utf-8",
            )
    months, older = history_months(clock.now(), before=before)
    return render(request, "statuspage/history.html", {"months": months, "older": older})
