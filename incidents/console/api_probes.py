"""Probes through the management API: create, read, change, delete, pause and resume.

Validated as `load_probes` validates a file: only the settings every kind shares and the
kind's own (statuspage.checks' registry), then the model's full_clean, which asks the kind
what it lacks or cannot read. Nothing is saved unless all of it is valid.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.http import HttpRequest, JsonResponse
from django.urls import reverse

from incidents.console.api import (
    Invalid,
    body_of,
    handle,
    json_problem,
    lacking,
    not_allowed,
    reply,
    row_id,
)
from incidents.console.api_auth import api_view
from statuspage import clock
from statuspage.checks import kind_for, registered
from statuspage.inputs import text_problem
from statuspage.models import SHARED_PROBE_SETTINGS, Component, Probe

JSON_TYPES: list[tuple[type[models.Field], tuple[type, ...], str]] = [
    (models.BooleanField, (bool,), "true or false."),
    (models.CharField, (str,), "A string."),
    (models.TextField, (str,), "A string."),
    (models.IntegerField, (int,), "A whole number."),
    (models.FloatField, (int, float), "A number."),
]


def settings_of(kind: str) -> tuple[str, ...]:
    return (*SHARED_PROBE_SETTINGS, *kind_for(kind).fields)


def probe_payload(probe: Probe) -> dict:
    payload: dict[str, object] = {"id": str(probe.id), "component_id": probe.component.public_id}
    payload.update({name: getattr(probe, name) for name in settings_of(probe.kind)})
    payload.update(
        {
            "state": probe.state,
            "paused": not probe.enabled,
            "last_checked_at": probe.last_checked_at.isoformat() if probe.last_checked_at else None,
        }
    )
    if probe.rules.pushed:
        path = reverse("ping", args=[probe.ping_key])
        payload["ping_url"] = settings.STATUSPAGE["URL"] + path
    return payload


def type_problem(name: str, value: object) -> str | None:
    if problem := json_problem(value):
        return problem
    field = Probe._meta.get_field(name)
    if value is None:
        return None if field.null else "Cannot be null."
    for field_class, types, message in JSON_TYPES:
        if isinstance(field, field_class):
            wrong_bool = isinstance(value, bool) and bool not in types
            return message if wrong_bool or not isinstance(value, types) else None
    return None


def apply(probe: Probe, data: dict) -> None:
    """Set the given settings and validate the whole probe; Invalid names each problem."""
    errors: dict[str, str] = {}
    kind = data.get("kind", probe.kind)
    if not isinstance(kind, str) or kind not in registered():
        raise Invalid({"kind": f"One of: {', '.join(sorted(registered()))}."})
    own = set(settings_of(kind))
    every = {f for k in registered() for f in settings_of(k)}
    for name, value in data.items():
        if name == "component_id":
            continue
        if name not in every:
            errors[name] = f"Unknown field (allowed: {', '.join(sorted(own))})."
        elif name not in own:
            errors[name] = f"Not a setting of a {kind} probe."
        elif problem := type_problem(name, value):
            errors[name] = problem
        else:
            setattr(probe, name, value)
    if "component_id" in data or probe.component_id is None:
        set_component(probe, data.get("component_id"), errors)
    if errors:
        raise Invalid(errors)
    try:
        probe.full_clean(validate_unique=False)
    except ValidationError as error:
        raise Invalid({k: " ".join(v) for k, v in error.message_dict.items()}) from None
    if Probe.objects.filter(component=probe.component, name=probe.name).exclude(pk=probe.pk):
        raise Invalid({"name": "This component has a probe with this name."})


def set_component(probe: Probe, public_id: object, errors: dict[str, str]) -> None:
    component = (
        Component.objects.filter(public_id=public_id).first()
        if isinstance(public_id, str) and len(public_id) < 64 and not text_problem(public_id)
        else None
    )
    if component is None:
        errors["component_id"] = "A component's id."
    else:
        probe.component = component


def probe_by(public_id: str) -> Probe:
    return Probe.objects.select_related("component").get(id=row_id(public_id, Probe))


@api_view("statuspage.view_probe")
@handle
def probes(request: HttpRequest) -> JsonResponse:
    if request.method == "GET":
        items = Probe.objects.select_related("component").order_by("id")
        return reply({"probes": [probe_payload(p) for p in items]})
    if request.method != "POST":
        return not_allowed("GET, POST")
    if refused := lacking(request, "statuspage.add_probe"):
        return refused
    data = body_of(request, "probe")
    probe = Probe()
    if "name" not in data:
        raise Invalid({"name": "This field is required."})
    apply(probe, data)
    probe.save()
    return reply(probe_payload(probe), status=201)


@api_view("statuspage.view_probe")
@handle
def probe(request: HttpRequest, public_id: str) -> JsonResponse:
    item = probe_by(public_id)
    if request.method == "GET":
        return reply(probe_payload(item))
    if request.method == "DELETE":
        if refused := lacking(request, "statuspage.delete_probe"):
            return refused
        item.delete()
        return JsonResponse({}, status=204)
    if request.method not in ("PATCH", "PUT"):
        return not_allowed("GET, PATCH, PUT, DELETE")
    if refused := lacking(request, "statuspage.change_probe"):
        return refused
    apply(item, body_of(request, "probe"))
    item.save()
    return reply(probe_payload(item))


@api_view("statuspage.change_probe")
@handle
def probe_switch(request: HttpRequest, public_id: str, action: str) -> JsonResponse:
    """pause: the engine stops checking it; resume: checked again from now."""
    if request.method != "POST":
        return not_allowed("POST")
    item = probe_by(public_id)
    if action not in ("pause", "resume"):
        return JsonResponse({"error": f"Unknown action {action!r}: pause or resume."}, status=404)
    item.enabled = action == "resume"
    item.next_run_at = clock.now() if item.enabled else item.next_run_at
    item.save(update_fields=["enabled", "next_run_at"])
    return reply(probe_payload(item))
