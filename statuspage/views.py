"""The public status page and incident permalinks."""

from __future__ import annotations

from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_http_methods

from incidents.models import Incident, IncidentUpdate
from statuspage.models import Component
from statuspage.summary import build_snapshot


@require_http_methods(["GET", "HEAD"])
def status_page(request: HttpRequest) -> HttpResponse:
    return render(request, "statuspage/index.html", {"snapshot": build_snapshot()})


@require_http_methods(["GET", "HEAD"])
def incident_detail(request: HttpRequest, public_id: str) -> HttpResponse:
    incident = get_object_or_404(
        Incident.objects.public().prefetch_related(
            Prefetch("updates", queryset=IncidentUpdate.objects.order_by("-display_at", "-id")),
            Prefetch("components", queryset=Component.objects.order_by("name")),
        ),
        public_id=public_id,
    )
    return render(request, "statuspage/incident.html", {"incident": incident})
