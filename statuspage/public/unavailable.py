"""What the public answers say when the database is unreachable and nothing usable is stored
(statuspage.public.store): "status unknown" in each answer's own shape and a 503, never an
HTML error page for a JSON client."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils import translation

from statuspage.picture.monitoring import INDICATOR_WHEN_UNKNOWN
from statuspage.picture.serializers import page_payload
from statuspage.public.http import allow_any_origin

RETRY_AFTER_SECONDS = 5
# The keys each v2 endpoint lists next to "status", empty while we cannot read them.
V2_LISTS = {
    "summary": ["components", "incidents", "scheduled_maintenances"],
    "status": [],
    "components": ["components"],
    "incidents": ["incidents"],
    "incidents/unresolved": ["incidents"],
    "scheduled-maintenances": ["scheduled_maintenances"],
    "scheduled-maintenances/upcoming": ["scheduled_maintenances"],
    "scheduled-maintenances/active": ["scheduled_maintenances"],
}


def unavailable(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return allow_any_origin(response)


def json_503(payload: dict) -> HttpResponse:
    return unavailable(JsonResponse(payload, status=503, json_dumps_params={"ensure_ascii": False}))


def unknown_description() -> str:
    with translation.override("en"):
        return render_to_string("statuspage/unavailable/description.txt").strip()


def v2_unknown(name: str) -> Callable[[HttpRequest], HttpResponse]:
    """Statuspage's shape, indicator at least "minor" as whenever our status is unknown
    (statuspage.picture.monitoring), described as unknown, lists empty."""

    def view(request: HttpRequest) -> HttpResponse:
        status = {"indicator": INDICATOR_WHEN_UNKNOWN, "description": unknown_description()}
        payload: dict[str, object] = {"page": page_payload(None), "status": status}
        payload.update({key: [] for key in V2_LISTS[name]})
        return json_503(payload)

    return view


def page_unknown(request: HttpRequest) -> HttpResponse:
    return unavailable(render(request, "statuspage/unavailable.html", status=503))
