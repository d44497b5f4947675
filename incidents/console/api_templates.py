"""Message template overrides through the management API, checked when written exactly as
the admin checks them (incidents.response.budgets.override_problems): the file must exist,
the override must compile in the sandbox (incidents.overrides), and it must fit its
channel's budget in its language; what will be cut to fit is answered as `cuts`."""

from __future__ import annotations

import re

from django.conf import settings
from django.http import HttpRequest, JsonResponse

from incidents.console.api import (
    Invalid,
    body_of,
    choice,
    handle,
    lacking,
    not_allowed,
    reply,
    row_id,
)
from incidents.console.api import text as text_field
from incidents.console.api_auth import api_view
from incidents.models import IncidentUpdate, MessageTemplate
from incidents.response.budgets import override_problems

NAME = re.compile(r"[a-z][a-z_]{0,31}")
WHERE = ("channel", "kind", "part", "locale")


def template_payload(template: MessageTemplate, cuts: list[str] | None = None) -> dict:
    payload: dict[str, object] = {"id": str(template.id)}
    payload.update({field: getattr(template, field) for field in (*WHERE, "body")})
    if cuts is not None:
        payload["cuts"] = cuts
    return payload


def apply(template: MessageTemplate, data: dict, creating: bool) -> list[str]:
    """Set and check the override; returns what will be cut, or raises Invalid."""
    errors: dict[str, str] = {}
    for field in ("channel", "part"):
        value = data.get(field)
        if value is None and field == "channel" and creating:
            errors[field] = "This field is required."
        elif value is not None and not (
            isinstance(value, str) and (value == "" and field == "part" or NAME.fullmatch(value))
        ):
            errors[field] = "A lower-case name, e.g. sms or body."
    kinds = set(IncidentUpdate.Kind.values)
    if creating and "kind" not in data:
        errors["kind"] = "This field is required."
    choice(data, "kind", kinds, errors)
    choice(data, "locale", {code for code, _ in settings.LANGUAGES}, errors)
    body = text_field(data, "body", errors, required=creating or "body" in data, limit=10000)
    if errors:
        raise Invalid(errors)
    for field in WHERE:
        if field in data:
            setattr(template, field, data[field])
    template.body = template.body if body is None else body
    clash = MessageTemplate.objects.filter(**{f: getattr(template, f) for f in WHERE})
    if clash.exclude(pk=template.pk).exists():
        raise Invalid({"locale": "An override of this template in this language exists."})
    problems, cuts = override_problems(template)
    if problems:
        raise Invalid({field: " ".join(lines) for field, lines in problems.items()})
    return cuts


def template_by(public_id: str) -> MessageTemplate:
    return MessageTemplate.objects.get(id=row_id(public_id, MessageTemplate))


@api_view("incidents.view_messagetemplate")
@handle
def templates(request: HttpRequest) -> JsonResponse:
    if request.method == "GET":
        return reply({"templates": [template_payload(t) for t in MessageTemplate.objects.all()]})
    if request.method != "POST":
        return not_allowed("GET, POST")
    if refused := lacking(request, "incidents.add_messagetemplate"):
        return refused
    template = MessageTemplate()
    cuts = apply(template, body_of(request, "template"), creating=True)
    template.save()
    return reply(template_payload(template, cuts), status=201)


@api_view("incidents.view_messagetemplate")
@handle
def template(request: HttpRequest, public_id: str) -> JsonResponse:
    item = template_by(public_id)
    if request.method == "GET":
        return reply(template_payload(item))
    if request.method == "DELETE":
        if refused := lacking(request, "incidents.delete_messagetemplate"):
            return refused
        item.delete()
        return JsonResponse({}, status=204)
    if request.method not in ("PATCH", "PUT"):
        return not_allowed("GET, PATCH, PUT, DELETE")
    if refused := lacking(request, "incidents.change_messagetemplate"):
        return refused
    cuts = apply(item, body_of(request, "template"), creating=False)
    item.save()
    return reply(template_payload(item, cuts))
