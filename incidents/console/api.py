"""The management API: create and update incidents, post updates, manage components and
scheduled maintenance, in the shape of Statuspage's management API (bodies wrapped in
`incident` / `component`, `impact_override`, `components: {id: status}`).

Every input problem is a 400 with `fields` naming each wrong field; nothing is changed then.
"""

from __future__ import annotations

import json
import math
from datetime import datetime, timedelta

from django.core.exceptions import ObjectDoesNotExist
from django.db import transaction
from django.db.models import Model
from django.http import HttpRequest, JsonResponse

from incidents.console.api_auth import api_view, error
from incidents.console.privacy import audiences_from, slugs_of
from incidents.models import (
    MAINTENANCE_STATUSES,
    Impact,
    Incident,
    IncidentStatus,
    InvalidTransition,
)
from incidents.response import maintenance, workflow
from incidents.response.policies import ensure_default_policy
from statuspage import clock
from statuspage.inputs import parse_moment, text_problem
from statuspage.models import Audience, Component, ComponentGroup, ComponentStatus
from statuspage.picture.serializers import component_payload, incident_payload

OPEN = [IncidentStatus.INVESTIGATING, IncidentStatus.IDENTIFIED, IncidentStatus.MONITORING]
COMPONENT_STATUSES = {s.value for s in ComponentStatus}
MAX_NOTICE_MINUTES = 366 * 24 * 60


class Invalid(Exception):
    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__("invalid input")
        self.fields = fields


def json_object(request: HttpRequest) -> dict:
    try:
        data = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError) as exc:
        raise Invalid({"body": "Send a JSON object."}) from exc
    if not isinstance(data, dict):
        raise Invalid({"body": "Send a JSON object."})
    return data


def body_of(request: HttpRequest, wrapper: str) -> dict:
    data = json_object(request)
    if not isinstance(data.get(wrapper), dict):
        raise Invalid({wrapper: f"Send a JSON object with an '{wrapper}' object in it."})
    return data[wrapper]


def text(
    data: dict, name: str, errors: dict, required: bool = False, limit: int = 5000
) -> str | None:
    value = data.get(name)
    if value is None:
        if required:
            errors[name] = "This field is required."
        return None
    if not isinstance(value, str) or (required and not value.strip()):
        errors[name] = "A non-empty string." if required else "A string."
        return None
    problem = text_problem(value)
    if problem:
        errors[name] = problem
        return None
    if len(value) > limit:
        errors[name] = f"At most {limit} characters."
    return value.strip()


def whole(value: object, low: int, high: int) -> bool:
    """A whole number in range (JSON's true/false are not numbers here)."""
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def choice(data: dict, name: str, allowed, errors: dict) -> str | None:
    value = data.get(name)
    if value is not None and (not isinstance(value, str) or value not in allowed):
        errors[name] = f"One of: {', '.join(sorted(allowed))}."
        return None
    return value


def moment(data: dict, name: str, errors: dict) -> datetime | None:
    value = data.get(name)
    if value is None:
        return None
    try:
        return parse_moment(value)
    except ValueError as problem:
        errors[name] = str(problem)
        return None


def components_from(data: dict, errors: dict, default_status: str) -> dict[Component, str]:
    """`components: {id: status}` and/or `component_ids: [id]` (given the default status)."""
    wanted: dict[str, str] = {}
    raw = data.get("components") or {}
    ids = data.get("component_ids") or []
    if not isinstance(raw, dict) or not all(
        isinstance(v, str) and v in COMPONENT_STATUSES and not text_problem(k)
        for k, v in raw.items()
    ):
        errors["components"] = "An object of component id to status: " + ", ".join(
            sorted(COMPONENT_STATUSES)
        )
        return {}
    if not isinstance(ids, list) or not all(
        isinstance(i, str) and not text_problem(i) for i in ids
    ):
        errors["component_ids"] = "A list of component ids."
        return {}
    wanted.update(dict.fromkeys(ids, default_status))
    wanted.update(raw)
    found = {c.public_id: c for c in Component.objects.filter(public_id__in=list(wanted))}
    missing = sorted(set(wanted) - set(found))
    if missing:
        errors["components"] = f"Unknown component id(s): {', '.join(missing)}."
        return {}
    return {found[i]: status for i, status in wanted.items()}


def not_allowed(methods: str) -> JsonResponse:
    response = error(405, f"Use {methods}.")
    response["Allow"] = methods
    return response


def lacking(request: HttpRequest, *permissions: str) -> JsonResponse | None:
    """A 403 naming the permissions the key's user lacks, or None when it has them all."""
    missing = [p for p in permissions if not request.user.has_perm(p)]
    if missing:
        return error(403, f"This key's user lacks the permission(s): {', '.join(missing)}.")
    return None


def row_id(value: str, model: type[Model]) -> int:
    """A row's id from the path; model.DoesNotExist (a 404) for anything not a small number."""
    if not (value.isascii() and value.isdigit()) or len(value) > 18:
        raise model.DoesNotExist  # type: ignore[attr-defined]
    return int(value)


def json_problem(value: object) -> str | None:
    """Why a JSON value cannot be stored (text rules for every string inside, finite
    numbers of a size every database holds), or None."""
    if isinstance(value, str):
        return text_problem(value)
    if isinstance(value, float):
        return None if math.isfinite(value) and abs(value) < 1e15 else "A finite number."
    if isinstance(value, int) and not isinstance(value, bool):
        return None if abs(value) < 2**31 else "A number below 2147483648."
    if isinstance(value, list):
        return next(filter(None, map(json_problem, value)), None)
    if isinstance(value, dict):
        return next(filter(None, map(json_problem, [*value.keys(), *value.values()])), None)
    return None


def flag(data: dict, name: str, errors: dict, default: bool) -> bool:
    value = data.get(name, default)
    if not isinstance(value, bool):
        errors[name] = "true or false."
        return default
    return value


def reply(payload: dict, status: int = 200) -> JsonResponse:
    return JsonResponse(payload, status=status, json_dumps_params={"ensure_ascii": False})


def full(incident: Incident) -> dict:
    payload = incident_payload(incident)
    payload.update(
        {
            "scheduled_for": incident.scheduled_for.isoformat() if incident.scheduled_for else None,
            "scheduled_until": incident.scheduled_until.isoformat()
            if incident.scheduled_until
            else None,
            "acknowledged_at": incident.acknowledged_at.isoformat()
            if incident.acknowledged_at
            else None,
            "private_to": slugs_of(incident),
        }
    )
    return payload


def handle(view):
    def wrapped(request, *args, **kwargs):
        if any(text_problem(str(value)) for value in kwargs.values()):
            return error(404, "No such object.")
        try:
            return view(request, *args, **kwargs)
        except Invalid as invalid:
            return error(400, "The request has invalid fields.", invalid.fields)
        except InvalidTransition as refused:
            return error(400, str(refused), {"status": str(refused)})
        except Incident.DoesNotExist:
            return error(404, "No such incident.")
        except Component.DoesNotExist:
            return error(404, "No such component.")
        except ObjectDoesNotExist:
            return error(404, "No such object.")

    wrapped.__name__ = view.__name__
    wrapped.__doc__ = view.__doc__
    return wrapped


# --- Incidents and maintenance ----------------------------------------------------------


@api_view("incidents.view_incident")
@handle
def incidents(request: HttpRequest) -> JsonResponse:
    if request.method == "POST":
        return create_incident(request)
    if request.method != "GET":
        return not_allowed("GET, POST")
    items = (
        Incident.objects.exclude(kind=Incident.Kind.MONITORING)
        .prefetch_related("components", "updates", "private_to")
        .order_by("-created_at")[:100]
    )
    return reply({"incidents": [full(i) for i in items]})


def create_incident(request: HttpRequest) -> JsonResponse:
    if not request.user.has_perm("incidents.add_incident"):
        return error(403, "This key's user lacks the permission(s): incidents.add_incident.")
    data = body_of(request, "incident")
    errors: dict[str, str] = {}
    name = text(data, "name", errors, required=True, limit=200)
    status = (
        choice(data, "status", {*OPEN, IncidentStatus.SCHEDULED}, errors)
        or IncidentStatus.INVESTIGATING
    )
    impact = choice(data, "impact_override", {i.value for i in Impact}, errors) or Impact.MINOR
    body = text(data, "body", errors, required=status != IncidentStatus.SCHEDULED)
    components = components_from(data, errors, ComponentStatus.PARTIAL_OUTAGE)
    private_to = audiences_from(data, errors) or []
    deliver = data.get("deliver_notifications", True)
    if not isinstance(deliver, bool):
        errors["deliver_notifications"] = "true or false."
    now = clock.now()
    if status == IncidentStatus.SCHEDULED:
        return create_maintenance(request, data, name, body, components, private_to, errors, now)
    if errors:
        raise Invalid(errors)
    assert name is not None and body is not None  # required: text() reported them otherwise
    ensure_default_policy()
    incident = workflow.open_by_staff(
        name,
        body,
        impact,
        components,
        request.user,
        now,
        status=status,
        deliver=deliver,
        private_to=private_to,
    )
    return reply(full(Incident.objects.get(id=incident.id)), status=201)


def create_maintenance(
    request, data, name, body, components, private_to, errors, now
) -> JsonResponse:
    start = moment(data, "scheduled_for", errors)
    end = moment(data, "scheduled_until", errors)
    for field, value in (("scheduled_for", start), ("scheduled_until", end)):
        if value is None and field not in errors:
            errors[field] = "This field is required for scheduled maintenance."
    if start and end and end <= start:
        errors["scheduled_until"] = "The maintenance must end after it starts."
    notices = data.get("announce_before_minutes")
    if notices is not None and (
        not isinstance(notices, list) or not all(whole(n, 1, MAX_NOTICE_MINUTES) for n in notices)
    ):
        errors["announce_before_minutes"] = (
            f"A list of whole minutes from 1 to {MAX_NOTICE_MINUTES}, e.g. [4320, 60]."
        )
    if not components and "components" not in errors:
        errors["components"] = "Name the components the maintenance affects."
    if errors:
        raise Invalid(errors)
    assert start is not None and end is not None  # required: reported above otherwise
    window = maintenance.schedule(
        name,
        body or "",
        list(components),
        start,
        end,
        request.user,
        now,
        announce_before_minutes=notices,
        auto_transition=data.get("auto_transition", True) is not False,
        private_to=private_to,
    )
    return reply(full(window), status=201)


@api_view("incidents.view_incident")
@handle
def incident(request: HttpRequest, public_id: str) -> JsonResponse:
    item = Incident.objects.prefetch_related("components", "updates", "private_to").get(
        public_id=public_id
    )
    if request.method == "GET":
        return reply(full(item))
    if request.method not in ("PATCH", "PUT"):
        return not_allowed("GET, PATCH, PUT")
    if not request.user.has_perm("incidents.respond_incident"):
        return error(403, "This key's user lacks the permission(s): incidents.respond_incident.")
    if item.is_maintenance:
        return update_maintenance(request, item)
    return update_incident(request, item)


def update_incident(request: HttpRequest, item: Incident) -> JsonResponse:
    data = body_of(request, "incident")
    errors: dict[str, str] = {}
    status = choice(data, "status", {*OPEN, IncidentStatus.RESOLVED}, errors)
    impact = choice(data, "impact_override", {i.value for i in Impact}, errors)
    private_to = audiences_from(data, errors)
    body = text(data, "body", errors, required=set(data) != {"private_to"})
    components = components_from(data, errors, ComponentStatus.PARTIAL_OUTAGE)
    deliver = data.get("deliver_notifications", True)
    if not isinstance(deliver, bool):
        errors["deliver_notifications"] = "true or false."
    minutes = data.get("next_update_in_minutes")
    if minutes is not None and not whole(minutes, 5, 1440):
        errors["next_update_in_minutes"] = "Whole minutes from 5 to 1440."
    if errors:
        raise Invalid(errors)
    now = clock.now()
    with transaction.atomic():
        if private_to is not None:
            workflow.change_privacy(item, private_to, request.user, now)
        if body is None:  # only the privacy changed: text() required a body otherwise
            return reply(full(Incident.objects.get(id=item.id)))
        workflow.post_update(
            item,
            body,
            request.user,
            now,
            status=status,
            impact=impact,
            components=components,
            deliver=deliver,
            next_by=now + timedelta(minutes=minutes) if minutes else None,
        )
    return reply(full(Incident.objects.get(id=item.id)))


def update_maintenance(request: HttpRequest, item: Incident) -> JsonResponse:
    data = body_of(request, "incident")
    errors: dict[str, str] = {}
    status = choice(data, "status", set(MAINTENANCE_STATUSES) - {IncidentStatus.SCHEDULED}, errors)
    private_to = audiences_from(data, errors)
    if status is None and private_to is None and not errors:
        errors["status"] = "One of: completed, in_progress, verifying."
    if errors:
        raise Invalid(errors)
    now = clock.now()
    with transaction.atomic():
        if private_to is not None:
            workflow.change_privacy(item, private_to, request.user, now)
        if status is not None:
            maintenance.set_status(item, status, request.user, now)
    return reply(full(Incident.objects.get(id=item.id)))


# --- Components ---------------------------------------------------------------------------


@api_view("statuspage.view_component")
@handle
def components(request: HttpRequest) -> JsonResponse:
    if request.method == "GET":
        return reply(
            {
                "components": [
                    managed(c)
                    for c in Component.objects.select_related("group").prefetch_related(
                        "private_to"
                    )
                ]
            }
        )
    if request.method != "POST":
        return not_allowed("GET, POST")
    if not request.user.has_perm("statuspage.add_component"):
        return error(403, "This key's user lacks the permission(s): statuspage.add_component.")
    data = body_of(request, "component")
    component = Component(status=ComponentStatus.OPERATIONAL)
    save_component(component, data, creating=True)
    return reply(managed(component), status=201)


@api_view("statuspage.view_component")
@handle
def component(request: HttpRequest, public_id: str) -> JsonResponse:
    item = Component.objects.select_related("group").get(public_id=public_id)
    if request.method == "GET":
        return reply(managed(item))
    if request.method == "DELETE":
        if not request.user.has_perm("statuspage.delete_component"):
            return error(
                403, "This key's user lacks the permission(s): statuspage.delete_component."
            )
        item.delete()
        return JsonResponse({}, status=204)
    if request.method not in ("PATCH", "PUT"):
        return not_allowed("GET, PATCH, PUT, DELETE")
    if not request.user.has_perm("statuspage.change_component"):
        return error(403, "This key's user lacks the permission(s): statuspage.change_component.")
    save_component(item, body_of(request, "component"), creating=False)
    return reply(managed(item))


def managed(item: Component) -> dict:
    """The public v2 shape, plus what only staff see."""
    return {**component_payload(item), "private_to": slugs_of(item)}


def save_component(item: Component, data: dict, creating: bool) -> None:
    private_to = apply_component(item, data, creating)
    with transaction.atomic():
        item.save()
        if private_to is not None:
            item.private_to.set(private_to)


def apply_component(item: Component, data: dict, creating: bool) -> list[Audience] | None:
    """Set the given fields on the row; returns the audiences of `private_to` if given."""
    errors: dict[str, str] = {}
    name = text(data, "name", errors, required=creating or "name" in data, limit=120)
    description = text(data, "description", errors)
    advice = text(data, "advice", errors)
    status = choice(data, "status", COMPONENT_STATUSES, errors)
    group_id = data.get("group_id")
    group = None
    if group_id is not None and (not isinstance(group_id, str) or text_problem(group_id)):
        errors["group_id"] = "A group id (a string)."
    elif group_id is not None:
        group = ComponentGroup.objects.filter(public_id=group_id).first()
        if group is None:
            errors["group_id"] = f"Unknown group id {group_id!r}."
    if name and Component.objects.filter(name=name).exclude(pk=item.pk).exists():
        errors["name"] = "A component with this name exists."
    for field in ("showcase", "only_show_if_degraded"):
        if field in data and not isinstance(data[field], bool):
            errors[field] = "true or false."
    private_to = audiences_from(data, errors)
    if errors:
        raise Invalid(errors)
    for field, value in (
        ("name", name),
        ("description", description),
        ("advice", advice),
        ("status", status),
        ("group", group),
    ):
        if value is not None:
            setattr(item, field, value)
    for field in ("showcase", "only_show_if_degraded"):
        if field in data:
            setattr(item, field, data[field])
    return private_to


# --- Staff controls -----------------------------------------------------------------------


@api_view("incidents.respond_incident")
@handle
def incident_action(request: HttpRequest, public_id: str, action: str) -> JsonResponse:
    """acknowledge, hold {minutes, reason}, release, postmortem {body, deliver_notifications}."""
    if request.method != "POST":
        return not_allowed("POST")
    item = Incident.objects.incidents().get(public_id=public_id)
    data = body_of(request, action) if action in ("hold", "postmortem") else json_object(request)
    now = clock.now()
    if action == "acknowledge":
        workflow.acknowledge(item, request.user, now)
    elif action == "hold":
        minutes = data.get("minutes")
        errors = {}
        if not isinstance(minutes, int) or isinstance(minutes, bool):
            errors["minutes"] = "Whole minutes, 1 to 120."
        reason = text(data, "reason", errors, required=True, limit=500)
        if errors:
            raise Invalid(errors)
        assert isinstance(minutes, int) and reason is not None  # reported above otherwise
        workflow.hold(item, request.user, minutes, reason, now)
    elif action == "release":
        workflow.release_hold(item, request.user, now)
    elif action == "postmortem":
        errors = {}
        body = text(data, "body", errors, required=True)
        deliver = data.get("deliver_notifications", False)
        if not isinstance(deliver, bool):
            errors["deliver_notifications"] = "true or false."
        if errors:
            raise Invalid(errors)
        assert body is not None  # required: text() reported it otherwise
        workflow.publish_postmortem(item, body, request.user, now, deliver=deliver)
    else:
        return error(404, f"Unknown action {action!r}: acknowledge, hold, release or postmortem.")
    return reply(full(Incident.objects.get(id=item.id)))
