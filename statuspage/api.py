"""Public JSON: Statuspage v2 compatible summary, and the banner answer for apps."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_http_methods

from incidents.messages import render_message
from incidents.models import Incident, IncidentUpdate
from statuspage import clock
from statuspage.models import Audience, Component
from statuspage.summary import INDICATOR_FOR_IMPACT, INDICATOR_ORDER, Snapshot, build_snapshot

SUMMARY_MAX_AGE = 10


def stamp(value: datetime | None) -> str | None:
    """ISO 8601 with milliseconds and a Z, as Statuspage writes times."""
    if value is None:
        return None
    return value.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def page_payload(snapshot: Snapshot) -> dict:
    page = settings.STATUSPAGE
    return {
        "id": page["PAGE_ID"],
        "name": page["NAME"],
        "url": page["URL"],
        "time_zone": settings.TIME_ZONE,
        "updated_at": stamp(snapshot.updated_at or clock.now()),
    }


def component_payload(component: Component) -> dict:
    return {
        "id": component.public_id,
        "name": component.name,
        "status": component.status,
        "created_at": stamp(component.created_at),
        "updated_at": stamp(component.updated_at),
        "position": component.position,
        "description": component.description or None,
        "showcase": component.showcase,
        "start_date": component.start_date.isoformat() if component.start_date else None,
        "group_id": component.group.public_id if component.group else None,
        "page_id": settings.STATUSPAGE["PAGE_ID"],
        "group": False,
        "only_show_if_degraded": component.only_show_if_degraded,
    }


def group_payload(view) -> dict:
    group = view.group
    return {
        "id": group.public_id,
        "name": group.name,
        "status": view.status,
        "created_at": stamp(group.created_at),
        "updated_at": stamp(max(c.updated_at for c in view.components)),
        "position": group.position,
        "description": group.description or None,
        "showcase": False,
        "start_date": None,
        "group_id": None,
        "page_id": settings.STATUSPAGE["PAGE_ID"],
        "group": True,
        "only_show_if_degraded": False,
        "components": [c.public_id for c in view.components],
    }


def components_payload(snapshot: Snapshot) -> list[dict]:
    items = [group_payload(g) for g in snapshot.groups]
    items += [component_payload(c) for c in snapshot.components]
    return items


def update_payload(update: IncidentUpdate, incident: Incident) -> dict:
    return {
        "id": update.public_id,
        "incident_id": incident.public_id,
        "status": update.status,
        "body": update.body,
        "created_at": stamp(update.created_at),
        "updated_at": stamp(update.updated_at),
        "display_at": stamp(update.display_at),
        "affected_components": update.affected_components,
        "deliver_notifications": update.deliver_notifications,
        "custom_tweet": None,
        "tweet_id": None,
    }


def incident_payload(incident: Incident) -> dict:
    return {
        "id": incident.public_id,
        "name": incident.name,
        "status": incident.status,
        "impact": incident.impact,
        "created_at": stamp(incident.created_at),
        "updated_at": stamp(incident.updated_at),
        "started_at": stamp(incident.started_at),
        "monitoring_at": stamp(incident.monitoring_at),
        "resolved_at": stamp(incident.resolved_at),
        "shortlink": f"{settings.STATUSPAGE['URL']}/incidents/{incident.public_id}",
        "page_id": settings.STATUSPAGE["PAGE_ID"],
        "incident_updates": [update_payload(u, incident) for u in incident.updates.all()],
        "components": [component_payload(c) for c in incident.components.all()],
    }


def public_json(payload: dict, max_age: int) -> JsonResponse:
    response = JsonResponse(payload, json_dumps_params={"ensure_ascii": False})
    response["Access-Control-Allow-Origin"] = "*"
    patch_cache_control(response, public=True, max_age=max_age)
    return response


@require_http_methods(["GET", "HEAD"])
def summary(request: HttpRequest) -> JsonResponse:
    snapshot = build_snapshot()
    return public_json(
        {
            "page": page_payload(snapshot),
            "status": {
                "indicator": snapshot.overall.indicator,
                "description": snapshot.overall.description,
            },
            "components": components_payload(snapshot),
            "incidents": [incident_payload(i) for i in snapshot.incidents],
            "scheduled_maintenances": [],
        },
        SUMMARY_MAX_AGE,
    )


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
        ids.update(audience.components.values_list("id", flat=True))
    if wanted:
        found = dict(
            Component.objects.filter(public_id__in=wanted).values_list("public_id", "id")
        )
        missing = sorted(set(wanted) - set(found))
        if missing:
            raise BannerQueryError(f"Unknown component id(s): {', '.join(missing)}.")
        ids.update(found.values())
    return sorted(ids) if (slug or wanted) else None


def banner_incident(component_ids: list[int] | None) -> Incident | None:
    incidents = Incident.objects.public().unresolved().prefetch_related("components", "updates")
    if component_ids is not None:
        incidents = incidents.filter(components__id__in=component_ids).distinct()
    ranked = sorted(
        incidents,
        key=lambda i: (INDICATOR_ORDER.index(INDICATOR_FOR_IMPACT[i.impact]), i.detected_at),
        reverse=True,
    )
    return ranked[0] if ranked else None


def banner_payload(incident: Incident | None, now: datetime) -> dict:
    ttl = settings.STATUSPAGE["BANNER_TTL_SECONDS"]
    payload = {
        "show": incident is not None,
        "status": "incident" if incident else "operational",
        "severity": INDICATOR_FOR_IMPACT[incident.impact] if incident else "none",
        "title": "",
        "text": "",
        "advice": "",
        "link": settings.STATUSPAGE["URL"],
        "incident_id": None,
        "updated_at": stamp(now),
        "valid_until": stamp(now + timedelta(seconds=ttl)),
    }
    if incident is not None:
        components = list(incident.components.all())
        latest = next(iter(incident.updates.all()), None)
        context = {"incident": incident, "components": components, "latest": latest}
        payload.update(
            title=render_message("banner", "incident", context, "title"),
            text=render_message("banner", "incident", context, "text"),
            advice="\n".join(c.advice for c in components if c.advice),
            link=f"{settings.STATUSPAGE['URL']}/incidents/{incident.public_id}",
            incident_id=incident.public_id,
            updated_at=stamp(incident.updated_at),
        )
    return payload


@require_http_methods(["GET", "HEAD"])
def banner(request: HttpRequest) -> JsonResponse:
    try:
        component_ids = components_for_banner(request)
    except BannerQueryError as error:
        response = JsonResponse({"error": str(error)}, status=400)
        response["Access-Control-Allow-Origin"] = "*"
        return response
    ttl = settings.STATUSPAGE["BANNER_TTL_SECONDS"]
    payload = banner_payload(banner_incident(component_ids), clock.now())
    return public_json(payload, max_age=min(ttl, SUMMARY_MAX_AGE))
