"""Public JSON: the Statuspage v2 compatible read API, and the banner answer for apps.

Every answer is built from the same Snapshot as the page, so the two never disagree. The
wording of statuses is Statuspage's English whatever the reader's language: clients parse it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import translation

from incidents.messages import render_message
from incidents.models import Incident
from statuspage import clock, viewer
from statuspage.models import Audience, Component
from statuspage.picture.maintenance import maintenance_payloads
from statuspage.picture.monitoring import (
    INDICATOR_WHEN_UNKNOWN,
    MonitoringState,
    monitoring_state,
)
from statuspage.picture.serializers import (
    components_payload,
    incident_payload,
    incident_url,
    page_payload,
    stamp,
    status_payload,
)
from statuspage.picture.silence import silent_components
from statuspage.picture.summary import (
    INDICATOR_FOR_IMPACT,
    INDICATOR_ORDER,
    Snapshot,
    build_snapshot,
    recent_incidents,
)
from statuspage.public.http import allow_any_origin, public_json, public_read
from statuspage.public.store import stored
from statuspage.public.unavailable import json_503, v2_unknown

SUMMARY_MAX_AGE = 10
# banner.json's clock ticks in steps, so polls within one step get a 304 instead of a body.
BANNER_STEP_SECONDS = 5


def summary_body(snapshot: Snapshot) -> dict:
    return {
        "status": status_payload(snapshot),
        "components": components_payload(snapshot),
        "incidents": [incident_payload(i) for i in snapshot.incidents],
        "scheduled_maintenances": maintenance_payloads("current"),
    }


# Each endpoint: the keys it adds next to "page", from the snapshot.
V2_BODIES: dict[str, Callable[[Snapshot], dict]] = {
    "summary": summary_body,
    "status": lambda s: {"status": status_payload(s)},
    "components": lambda s: {"components": components_payload(s)},
    "incidents": lambda s: {"incidents": [incident_payload(i) for i in recent_incidents()]},
    "incidents/unresolved": lambda s: {"incidents": [incident_payload(i) for i in s.incidents]},
    "scheduled-maintenances": lambda s: {"scheduled_maintenances": maintenance_payloads("all")},
    "scheduled-maintenances/upcoming": lambda s: {
        "scheduled_maintenances": maintenance_payloads("upcoming")
    },
    "scheduled-maintenances/active": lambda s: {
        "scheduled_maintenances": maintenance_payloads("active")
    },
}


def v2_payload(name: str, snapshot: Snapshot | None = None) -> dict:
    """The body of /api/v2/<name>.json; also what the static snapshot writes."""
    with translation.override("en"):
        snapshot = snapshot or build_snapshot()
        return {"page": page_payload(snapshot.updated_at), **V2_BODIES[name](snapshot)}


def v2_view(name: str) -> Callable:
    @public_read
    @stored(f"v2:{name}", per_language=False, unreachable=v2_unknown(name))
    def view(request: HttpRequest) -> HttpResponse:
        with translation.override("en"):
            snapshot = build_snapshot()
            payload = v2_payload(name, snapshot)
        return public_json(
            request, payload, SUMMARY_MAX_AGE, snapshot.last_modified, per_language=False
        )

    view.__name__ = view.__qualname__ = f"v2_{name.replace('/', '_').replace('-', '_')}"
    return view


summary = v2_view("summary")


class BannerQueryError(ValueError):
    pass


def components_for_banner(request: HttpRequest) -> list[int] | None:
    """The component ids the caller cares about, or None for all of them."""
    slug = request.GET.get("audience", "").strip()
    wanted = [p.strip() for p in request.GET.get("components", "").split(",") if p.strip()]
    ids: set[int] = set()
    if slug:
        audience = Audience.objects.filter(slug=slug).first()
        if audience is None:
            raise BannerQueryError(f"Unknown audience '{slug}'.")
        ids.update(audience.components.shown().values_list("id", flat=True))
    if wanted:
        found = dict(
            Component.objects.shown().filter(public_id__in=wanted).values_list("public_id", "id")
        )
        missing = sorted(set(wanted) - set(found))
        if missing:
            raise BannerQueryError(f"Unknown component id(s): {', '.join(missing)}.")
        ids.update(found.values())
    return sorted(ids) if (slug or wanted) else None


def banner_incident(component_ids: list[int] | None) -> Incident | None:
    incidents = (
        Incident.objects.public()
        .unresolved()
        .prefetch_related(Prefetch("components", queryset=Component.objects.shown()), "updates")
    )
    if component_ids is not None:
        incidents = incidents.filter(components__id__in=component_ids).distinct()
    ranked = sorted(
        incidents,
        key=lambda i: (INDICATOR_ORDER.index(INDICATOR_FOR_IMPACT[i.impact]), i.detected_at),
        reverse=True,
    )
    return ranked[0] if ranked else None


def banner_payload(
    incident: Incident | None,
    now: datetime,
    monitoring=None,
    unknown: list[Component] | None = None,
    overrides: dict[tuple[str, str], str] | None = None,
) -> dict:
    """Show or not, and what; `valid_until` tells apps when to stop trusting this answer.
    An incident comes first; then monitoring interrupted everywhere; then the components
    (`unknown`) nobody is checking. `status_unknown` flags the last two even under an incident."""
    interrupted = bool(monitoring and monitoring.interrupted)
    ttl = settings.STATUSPAGE["BANNER_TTL_SECONDS"]
    payload = {
        "show": incident is not None,
        "status": "incident" if incident else "operational",
        "severity": INDICATOR_FOR_IMPACT[incident.impact] if incident else "none",
        "title": "",
        "text": "",
        "advice": "",
        "link": viewer.page_url(),
        "incident_id": None,
        "updated_at": stamp(now),
        "valid_until": stamp(now + timedelta(seconds=ttl)),
        "monitoring_interrupted": interrupted,
        "status_unknown": interrupted or bool(unknown),
    }
    if incident is not None:
        components = list(incident.components.all())
        latest = next(iter(incident.updates.all()), None)
        context = {"incident": incident, "components": components, "latest": latest}
        payload.update(
            title=render_message("banner", "incident", context, "title"),
            text=render_message("banner", "incident", context, "text"),
            advice="\n".join(c.advice for c in components if c.advice),
            link=incident_url(incident),
            incident_id=incident.public_id,
            updated_at=stamp(incident.updated_at),
        )
    elif monitoring is not None and monitoring.interrupted:
        context = {"monitoring": monitoring}
        payload.update(
            show=True,
            status="unknown",
            severity=INDICATOR_WHEN_UNKNOWN,
            title=render_message("banner", "unknown", context, "title", overrides),
            text=render_message("banner", "unknown", context, "text", overrides),
            updated_at=stamp(monitoring.since or now),
        )
    elif unknown:
        context = {"components": unknown}
        payload.update(
            show=True,
            status="unknown",
            severity=INDICATOR_WHEN_UNKNOWN,
            title=render_message("banner", "component_unknown", context, "title"),
            text=render_message("banner", "component_unknown", context, "text"),
            advice="\n".join(c.advice for c in unknown if c.advice),
            updated_at=stamp(min(c.unknown_since or now for c in unknown)),
        )
    return payload


def banner_unknown(request: HttpRequest) -> HttpResponse:
    """While the database is unreachable: "status unknown" in banner.json's shape, worded
    from the template files (no override can be read)."""
    state = MonitoringState(interrupted=True)
    return json_503(banner_payload(None, clock.now(), state, overrides={}))


@public_read
@stored("banner", params=("audience", "components"), unreachable=banner_unknown)
def banner(request: HttpRequest) -> HttpResponse:
    try:
        component_ids = components_for_banner(request)
    except BannerQueryError as error:
        return allow_any_origin(JsonResponse({"error": str(error)}, status=400))
    ttl = settings.STATUSPAGE["BANNER_TTL_SECONDS"]
    now = clock.now()
    step = now.replace(microsecond=0) - timedelta(seconds=now.second % BANNER_STEP_SECONDS)
    payload = banner_payload(
        banner_incident(component_ids),
        step,
        monitoring_state(),
        silent_components(component_ids),
    )
    response = public_json(request, payload, max_age=min(ttl, SUMMARY_MAX_AGE))
    # For the answer store: its clock's next step renders it again; never served past valid_until.
    response.fresh_until = step + timedelta(seconds=BANNER_STEP_SECONDS)  # type: ignore[attr-defined]
    response.usable_until = step + timedelta(seconds=ttl)  # type: ignore[attr-defined]
    return response
