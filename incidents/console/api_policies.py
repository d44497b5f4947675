"""Escalation policies and their steps through the management API.

A step is written as in the policies file (`after`, `do`, `to`, `channels`, `every`,
`if_quiet_for`; a page step's `levels` and `repeat`) and read by the same parser
(incidents.response.policies.parse_step, resolve_levels), then checked by the step model's
own rules, as the admin checks it. A level names its schedule by the id the schedules API
gives it, and its contacts by name, as the file does. A policy's steps, and so their levels,
are replaced whole in one transaction, as loading the file replaces them.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest, JsonResponse

from incidents.console.api import (
    Invalid,
    body_of,
    handle,
    json_problem,
    lacking,
    not_allowed,
    reply,
    row_id,
    text,
    whole,
)
from incidents.console.api_auth import api_view, error
from incidents.models import (
    OPEN_STATUSES,
    EscalationLevel,
    EscalationPolicy,
    EscalationStep,
    Impact,
    Incident,
)
from incidents.response.policies import PolicyError, parse_step, resolve_levels, write_steps
from statuspage.models import Component

# What a policy's answer reads: its components, steps, and their levels' contacts.
RELATED = ("components", "steps__levels__contacts")
NUMBERS = {
    "priority": (0, 1_000_000),
    "cadence_minutes": (1, 1440),
    "auto_resolve_minutes": (0, 10080),
}


def step_payload(step: EscalationStep) -> dict:
    payload: dict[str, object] = {
        "after": step.delay_seconds,
        "do": step.action,
        "channels": step.channels,
    }
    if step.recipients:
        payload["to"] = step.recipients
    if step.repeat_every_seconds:
        payload["every"] = step.repeat_every_seconds
    if step.if_quiet_for_seconds:
        payload["if_quiet_for"] = step.if_quiet_for_seconds
    levels = step.levels.all()
    if levels:
        payload["levels"] = [level_payload(level) for level in levels]
        payload["repeat"] = step.levels_repeat
    return payload


def level_payload(level: EscalationLevel) -> dict:
    return {
        "schedule": level.schedule_id,
        "contacts": [contact.name for contact in level.contacts.all()],
        "wait": level.wait_minutes * 60,
    }


def policy_payload(policy: EscalationPolicy) -> dict:
    return {
        "id": str(policy.id),
        "name": policy.name,
        "description": policy.description,
        "component_ids": [c.public_id for c in policy.components.all()],
        "impacts": policy.impacts,
        "priority": policy.priority,
        "cadence_minutes": policy.cadence_minutes,
        "auto_resolve_minutes": policy.auto_resolve_minutes,
        "steps": [step_payload(s) for s in policy.steps.all()],
    }


def checked_steps(raw: object, errors: dict[str, str]) -> list[dict] | None:
    if not isinstance(raw, list) or not raw:
        errors["steps"] = "A non-empty list of steps: {after, do, to, channels, ...}."
        return None
    steps = []
    for index, item in enumerate(raw):
        where = f"steps[{index}]"
        if problem := json_problem(item):
            errors[where] = problem
            continue
        try:
            step = resolve_levels(parse_step(item, where), where, schedules_by="id")
            EscalationStep(
                action=step["action"],
                recipients=step.get("recipients", ""),
                channels=step["channels"],
                delay_seconds=step["delay"],
            ).full_clean(exclude=["policy"])
        except PolicyError as refused:
            errors[where] = str(refused)
        except (ValidationError, ValueError, OverflowError) as refused:
            errors[where] = " ".join(getattr(refused, "messages", [str(refused)]))
        else:
            steps.append(step)
    return steps


def apply(policy: EscalationPolicy, data: dict, creating: bool) -> tuple[list, list | None]:
    """Set the policy's fields; returns its components and steps (None: left as they are)."""
    errors: dict[str, str] = {}
    name = text(data, "name", errors, required=creating or "name" in data, limit=120)
    if name and EscalationPolicy.objects.filter(name=name).exclude(pk=policy.pk).exists():
        errors["name"] = "A policy with this name exists."
    description = text(data, "description", errors)
    for field, (low, high) in NUMBERS.items():
        if field in data and not whole(data[field], low, high):
            errors[field] = f"A whole number from {low} to {high}."
    impacts = data.get("impacts", policy.impacts)
    if not isinstance(impacts, list) or not all(i in Impact.values for i in impacts):
        errors["impacts"] = f"A list of: {', '.join(Impact.values)} (empty: any)."
    components = components_of(data, errors)
    steps = checked_steps(data.get("steps"), errors) if creating or "steps" in data else None
    if errors:
        raise Invalid(errors)
    policy.name = name or policy.name
    policy.description = policy.description if description is None else description
    policy.impacts = impacts
    for field in NUMBERS:
        setattr(policy, field, data.get(field, getattr(policy, field)))
    return components, steps


def components_of(data: dict, errors: dict[str, str]) -> list:
    ids = data.get("component_ids", [])
    if (
        not isinstance(ids, list)
        or not all(isinstance(i, str) and len(i) < 64 for i in ids)
        or json_problem(ids)
    ):
        errors["component_ids"] = "A list of component ids (empty: any component)."
        return []
    found = list(Component.objects.filter(public_id__in=ids))
    missing = sorted(set(ids) - {c.public_id for c in found})
    if missing:
        errors["component_ids"] = f"Unknown component id(s): {', '.join(missing)}."
    return found


def save(policy: EscalationPolicy, data: dict, creating: bool) -> EscalationPolicy:
    components, steps = apply(policy, data, creating)
    with transaction.atomic():
        policy.save()
        if creating or "component_ids" in data:
            policy.components.set(components)
        if steps is not None:
            write_steps(policy, steps)
    return EscalationPolicy.objects.prefetch_related(*RELATED).get(id=policy.id)


def policy_by(public_id: str) -> EscalationPolicy:
    return EscalationPolicy.objects.prefetch_related(*RELATED).get(
        id=row_id(public_id, EscalationPolicy)
    )


@api_view("incidents.view_escalationpolicy")
@handle
def policies(request: HttpRequest) -> JsonResponse:
    if request.method == "GET":
        items = EscalationPolicy.objects.prefetch_related(*RELATED)
        return reply({"policies": [policy_payload(p) for p in items]})
    if request.method != "POST":
        return not_allowed("GET, POST")
    if refused := lacking(
        request, "incidents.add_escalationpolicy", "incidents.add_escalationstep"
    ):
        return refused
    created = save(EscalationPolicy(), body_of(request, "policy"), creating=True)
    return reply(policy_payload(created), status=201)


@api_view("incidents.view_escalationpolicy")
@handle
def policy(request: HttpRequest, public_id: str) -> JsonResponse:
    item = policy_by(public_id)
    if request.method == "GET":
        return reply(policy_payload(item))
    if request.method == "DELETE":
        if refused := lacking(request, "incidents.delete_escalationpolicy"):
            return refused
        if Incident.objects.filter(policy=item, status__in=OPEN_STATUSES).exists():
            return error(400, "An open incident follows this policy.", {"id": "In use."})
        item.delete()
        return JsonResponse({}, status=204)
    if request.method not in ("PATCH", "PUT"):
        return not_allowed("GET, PATCH, PUT, DELETE")
    if refused := lacking(
        request, "incidents.change_escalationpolicy", "incidents.change_escalationstep"
    ):
        return refused
    return reply(policy_payload(save(item, body_of(request, "policy"), creating=False)))
