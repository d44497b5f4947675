"""The management API for on-call schedules: list, create, read, update and delete them (a
schedule's layers are given whole: an update that names `layers` replaces them), add and
remove overrides, and ask who is on call at a moment and who is next.

Same roles as the console: support staff read and add or remove overrides, admins edit
schedules. Every input problem is a 400 with `fields` naming each wrong field.
"""

from __future__ import annotations

import re
from datetime import datetime, time

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest, JsonResponse

from incidents.console.api import (
    Invalid,
    body_of,
    choice,
    handle,
    moment,
    not_allowed,
    reply,
    text,
    whole,
)
from incidents.console.api_auth import api_view, error
from incidents.models import LayerMember, OnCallContact, Schedule, ScheduleLayer, ScheduleOverride
from incidents.response import oncall
from incidents.schedules import validate_zone
from statuspage import clock

CLOCK_TIME = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])$")
MAX_LAYERS = 20
MAX_MEMBERS = 100


def lacks(user, permission: str) -> JsonResponse | None:
    if user.has_perm(permission):
        return None
    return error(403, f"This key's user lacks the permission(s): {permission}.")


def handled(view):
    """The incidents API's error handling, plus this API's own missing objects and the
    models' own validation."""

    @handle
    def wrapped(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except (Schedule.DoesNotExist, ScheduleOverride.DoesNotExist):
            return error(404, "No such schedule or override.")
        except ValidationError as problem:
            fields = {k: " ".join(v) for k, v in problem.message_dict.items()}
            return error(400, "The request has invalid fields.", fields)

    wrapped.__name__ = view.__name__
    return wrapped


# --- Payloads -----------------------------------------------------------------------------


def person(contact) -> dict | None:
    return None if contact is None else {"id": contact.id, "name": contact.name}


def hhmm(value: time | None) -> str | None:
    return value.strftime("%H:%M") if value is not None else None


def layer_payload(layer: ScheduleLayer) -> dict:
    return {
        "id": layer.id,
        "position": layer.position,
        "name": layer.name,
        "rotation": layer.rotation,
        "hand_off_time": hhmm(layer.hand_off_time),
        "hand_off_weekday": layer.hand_off_weekday,
        "starts_at": layer.starts_at.isoformat(),
        "restrict_weekdays": layer.restrict_weekdays,
        "restrict_from": hhmm(layer.restrict_from),
        "restrict_until": hhmm(layer.restrict_until),
        "member_ids": [m.contact_id for m in layer.members.all()],
    }


def override_payload(override: ScheduleOverride) -> dict:
    return {
        "id": override.id,
        "contact": person(override.contact),
        "starts_at": override.starts_at.isoformat(),
        "ends_at": override.ends_at.isoformat(),
    }


def schedule_payload(schedule: Schedule, now: datetime) -> dict:
    return {
        "id": schedule.id,
        "name": schedule.name,
        "time_zone": schedule.time_zone,
        "layers": [layer_payload(layer) for layer in schedule.layers.all()],
        "overrides": [override_payload(o) for o in schedule.overrides.all()],
        **on_call_payload(schedule, now),
    }


def on_call_payload(schedule: Schedule, at: datetime) -> dict:
    upcoming = schedule.next_hand_off(at)
    return {
        "at": at.isoformat(),
        "on_call": person(schedule.on_call_at(at)),
        "next": {"at": upcoming[0].isoformat(), "contact": person(upcoming[1])}
        if upcoming
        else None,
    }


def number(value: str | int) -> int:
    """A path id; anything else is an unknown schedule or override (404)."""
    value = str(value)
    if not value.isascii() or not value.isdigit() or len(value) > 9:
        raise Schedule.DoesNotExist
    return int(value)


def read(schedule_id: str | int, now: datetime) -> Schedule:
    return Schedule.objects.for_reading(since=now).get(id=number(schedule_id))


# --- Inputs -------------------------------------------------------------------------------


def clock_time(data: dict, name: str, errors: dict, field: str) -> time | None:
    value = data.get(name)
    if value is None:
        return None
    match = CLOCK_TIME.match(value) if isinstance(value, str) else None
    if match is None:
        errors[field] = "A time of day as HH:MM, e.g. 09:00."
        return None
    return time(int(match[1]), int(match[2]))


def contacts_by_id(ids: object, errors: dict, field: str) -> list[OnCallContact]:
    if not isinstance(ids, list) or not all(whole(i, 1, 2**31 - 1) for i in ids):
        errors[field] = "A list of on-call contact ids."
        return []
    if len(ids) > MAX_MEMBERS:
        errors[field] = f"At most {MAX_MEMBERS} members."
        return []
    found = OnCallContact.objects.in_bulk(ids)
    missing = [i for i in ids if i not in found]
    if missing:
        errors[field] = f"Unknown contact id(s): {', '.join(map(str, missing))}."
        return []
    return [found[i] for i in ids]


def layer_from(data: object, n: int, errors: dict) -> tuple[ScheduleLayer, list] | None:
    """A layer (unsaved) and its members from `layers[n]`; problems go in `errors`."""
    prefix = f"layers[{n}]"
    if not isinstance(data, dict):
        errors[prefix] = "A layer object."
        return None
    mine: dict[str, str] = {}
    layer = ScheduleLayer(position=n + 1, name=text(data, "name", mine, limit=120) or "")
    rotation = choice(data, "rotation", set(ScheduleLayer.Rotation.values), mine)
    layer.rotation = rotation or ScheduleLayer.Rotation.WEEKLY
    layer.hand_off_time = clock_time(data, "hand_off_time", mine, "hand_off_time") or time(9, 0)
    weekday = data.get("hand_off_weekday", 0)
    if not whole(weekday, 0, 6):
        mine["hand_off_weekday"] = "0 (Monday) to 6 (Sunday)."
    else:
        layer.hand_off_weekday = weekday
    starts_at = moment(data, "starts_at", mine)
    if starts_at is not None:
        layer.starts_at = starts_at
    elif "starts_at" not in mine:
        mine["starts_at"] = "This field is required."
    days = data.get("restrict_weekdays", [])
    if not isinstance(days, list) or not all(whole(d, 0, 6) for d in days):
        mine["restrict_weekdays"] = "A list of weekdays, 0 (Monday) to 6 (Sunday)."
    else:
        layer.restrict_weekdays = sorted(set(days))
    layer.restrict_from = clock_time(data, "restrict_from", mine, "restrict_from")
    layer.restrict_until = clock_time(data, "restrict_until", mine, "restrict_until")
    if (layer.restrict_from is None) != (layer.restrict_until is None) and not mine:
        mine["restrict_until"] = "Give both ends of the window, or neither."
    members = contacts_by_id(data.get("member_ids"), mine, "member_ids")
    if not members and "member_ids" not in mine:
        mine["member_ids"] = "Name at least one member."
    errors.update({f"{prefix}.{k}": v for k, v in mine.items()})
    return None if mine else (layer, members)


def layers_from(data: dict, errors: dict) -> list[tuple[ScheduleLayer, list]] | None:
    raw = data.get("layers")
    if raw is None:
        return None
    if not isinstance(raw, list) or len(raw) > MAX_LAYERS:
        errors["layers"] = f"A list of at most {MAX_LAYERS} layer objects."
        return None
    layers = [layer_from(item, n, errors) for n, item in enumerate(raw)]
    return [layer for layer in layers if layer is not None]


def apply_schedule(schedule: Schedule, data: dict, creating: bool) -> None:
    """Validate everything first, then write the schedule and (if given) its layers."""
    errors: dict[str, str] = {}
    name = text(data, "name", errors, required=creating or "name" in data, limit=120)
    zone = text(data, "time_zone", errors, limit=64)
    if zone is not None:
        try:
            validate_zone(zone)
        except ValidationError:
            errors["time_zone"] = "An IANA time zone, e.g. Europe/Madrid."
    if name and Schedule.objects.filter(name=name).exclude(pk=schedule.pk).exists():
        errors["name"] = "A schedule with this name exists."
    layers = layers_from(data, errors)
    if errors:
        raise Invalid(errors)
    schedule.name = name or schedule.name
    schedule.time_zone = zone or schedule.time_zone
    with transaction.atomic():
        schedule.save()
        if layers is not None:
            schedule.layers.all().delete()
            for layer, members in layers:
                layer.schedule = schedule
                layer.save()
                LayerMember.objects.bulk_create(
                    LayerMember(layer=layer, contact=c, position=i) for i, c in enumerate(members)
                )


# --- Views --------------------------------------------------------------------------------


@api_view("incidents.view_schedule")
@handled
def schedules(request: HttpRequest) -> JsonResponse:
    now = clock.now()
    if request.method == "GET":
        items = Schedule.objects.for_reading(since=now)
        return reply({"schedules": [schedule_payload(s, now) for s in items]})
    if request.method != "POST":
        return not_allowed("GET, POST")
    refused = lacks(request.user, "incidents.add_schedule")
    if refused:
        return refused
    item = Schedule()
    apply_schedule(item, body_of(request, "schedule"), creating=True)
    return reply(schedule_payload(read(item.id, now), now), status=201)


@api_view("incidents.view_schedule")
@handled
def schedule(request: HttpRequest, public_id: str) -> JsonResponse:
    now = clock.now()
    item = read(public_id, now)
    if request.method == "GET":
        return reply(schedule_payload(item, now))
    if request.method == "DELETE":
        refused = lacks(request.user, "incidents.delete_schedule")
        if refused:
            return refused
        item.delete()
        return JsonResponse({}, status=204)
    if request.method not in ("PATCH", "PUT"):
        return not_allowed("GET, PATCH, PUT, DELETE")
    refused = lacks(request.user, "incidents.change_schedule")
    if refused:
        return refused
    apply_schedule(item, body_of(request, "schedule"), creating=False)
    return reply(schedule_payload(read(item.id, now), now))


@api_view("incidents.view_schedule")
@handled
def on_call(request: HttpRequest, public_id: str) -> JsonResponse:
    """Who is on call `at` (default: now), and when the next hand-off is, to whom."""
    if request.method != "GET":
        return not_allowed("GET")
    errors: dict[str, str] = {}
    at = moment(dict(request.GET.items()), "at", errors) or clock.now()
    if errors:
        raise Invalid(errors)
    return reply(on_call_payload(read(public_id, at), at))


@api_view("incidents.view_schedule")
@handled
def overrides(request: HttpRequest, public_id: str) -> JsonResponse:
    now = clock.now()
    item = read(public_id, now)
    if request.method == "GET":
        return reply({"overrides": [override_payload(o) for o in item.overrides.all()]})
    if request.method != "POST":
        return not_allowed("GET, POST")
    refused = lacks(request.user, "incidents.add_scheduleoverride")
    if refused:
        return refused
    data = body_of(request, "override")
    errors: dict[str, str] = {}
    contact_id = data.get("contact_id")
    contact = None
    if isinstance(contact_id, int) and whole(contact_id, 1, 2**31 - 1):
        contact = OnCallContact.objects.filter(id=contact_id).first()
    if contact is None:
        errors["contact_id"] = "The id of an on-call contact."
    starts_at = moment(data, "starts_at", errors)
    ends_at = moment(data, "ends_at", errors)
    for field, value in (("starts_at", starts_at), ("ends_at", ends_at)):
        if value is None and field not in errors:
            errors[field] = "This field is required."
    if errors:
        raise Invalid(errors)
    assert contact is not None and starts_at is not None and ends_at is not None
    added = oncall.add_override(item, contact, starts_at, ends_at, request.user, now)
    return reply(override_payload(added), status=201)


@api_view("incidents.view_schedule")
@handled
def override(request: HttpRequest, public_id: str, override_id: str) -> JsonResponse:
    found = ScheduleOverride.objects.select_related("schedule", "contact").get(
        id=number(override_id), schedule_id=number(public_id)
    )
    if request.method == "GET":
        return reply(override_payload(found))
    if request.method != "DELETE":
        return not_allowed("GET, DELETE")
    refused = lacks(request.user, "incidents.delete_scheduleoverride")
    if refused:
        return refused
    oncall.remove_override(found, request.user, clock.now())
    return JsonResponse({}, status=204)
