"""Admin overrides of message templates (MessageTemplate) compile and render in a sandbox.

An override is Django template language typed into the admin, and staff who may edit it
are not thereby trusted with the server. The sandbox is a template engine of its own:

- only the `i18n` and `messaging` tag libraries can be loaded (no `{% load %}` of any other
  library: the engine knows no other), `{% debug %}` (which prints the context and
  `sys.modules`) is refused, and `{% include %}` / `{% extends %}` take only a literal name
  under `messages/` from the project's templates directory;
- the context is sealed: a model instance becomes a `Sealed` view exposing its own plain
  fields, `get_<field>_display` and forward relations to our own models (sealed in turn),
  nothing else: no managers, reverse relations, querysets, methods, users or secrets
  (`incident.components.model.objects.all` and `update.author.password` render empty).

The shipped files under templates/messages/ are trusted and render as before.
"""

from __future__ import annotations

import datetime
import decimal
import functools
import re
import uuid
from dataclasses import fields as dataclass_fields
from dataclasses import is_dataclass
from typing import Any, cast

from django.conf import settings
from django.db import models
from django.template import Context, Engine, Template, TemplateSyntaxError
from django.template.defaulttags import DebugNode
from django.template.loader_tags import ExtendsNode, IncludeNode
from django.utils.functional import Promise

LIBRARIES = {"i18n": "django.templatetags.i18n", "messaging": "incidents.templatetags.messaging"}
OUR_APPS = {"statuspage", "incidents", "notifiers"}
PLAIN = (str, int, float, bool, datetime.date, datetime.time, datetime.timedelta, decimal.Decimal)
SECRET_NAME = re.compile(r"secret|token|hash|digest|password|(^|_)key$")
# What a probe sends may carry credentials (URL userinfo, headers, a request body).
PROBE_REQUEST = {"url", "headers", "body", "body_contains", "body_regex", "json_check", "host"}
PROBE_REQUEST |= {"resolver", "expected_address", "value_path", "method", "expected_codes"}


@functools.lru_cache(maxsize=1)
def engine() -> Engine:
    return Engine(
        dirs=[str(settings.BASE_DIR / "templates")],
        app_dirs=False,
        libraries=LIBRARIES,
        debug=False,
        autoescape=False,
    )


def compile_override(source: str) -> Template:
    """The compiled override, or TemplateSyntaxError saying what the sandbox refuses."""
    try:
        template = engine().from_string(source)
    except (AttributeError, ValueError) as error:  # e.g. a relative {% include "../x" %}
        raise TemplateSyntaxError(f"Not a template this sandbox accepts: {error}") from error
    if template.nodelist.get_nodes_by_type(DebugNode):
        raise TemplateSyntaxError("{% debug %} is not allowed in a message template.")
    for node in template.nodelist.get_nodes_by_type(IncludeNode):
        check_name(cast(IncludeNode, node).template.var)
    for node in template.nodelist.get_nodes_by_type(ExtendsNode):
        check_name(getattr(cast(ExtendsNode, node).parent_name, "var", None))
    return template


def check_name(name: object) -> None:
    if not isinstance(name, str) or not name.startswith("messages/") or ".." in name:
        raise TemplateSyntaxError(
            "A message template may include only another one, by its literal name under "
            'messages/ (e.g. "messages/sms/_body.txt").'
        )


def render_override(source: str, context: dict[str, Any]) -> str:
    template = compile_override(source)
    return template.render(Context(seal(context), autoescape=False))


def seal(value: Any) -> Any:
    """What an override may see of a context value."""
    if value is None or isinstance(value, (*PLAIN, Promise, uuid.UUID)):
        return value
    if isinstance(value, Sealed):
        return value
    if isinstance(value, dict):
        return {str(k): seal(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [seal(v) for v in value]
    if isinstance(value, models.Model):
        return Sealed(value) if value._meta.app_label in OUR_APPS else str(value)
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: seal(getattr(value, f.name)) for f in dataclass_fields(value)}
    return str(value)


def visible_fields(model: type[models.Model]) -> dict[str, models.Field]:
    hidden = PROBE_REQUEST if model._meta.model_name == "probe" else set()
    return {
        f.name: f
        for f in model._meta.concrete_fields
        if not SECRET_NAME.search(f.name) and f.name not in hidden
    }


class Sealed:
    """A model instance as an override sees it: plain fields, choice labels, forward
    relations to our own models. Everything else is absent (renders as empty)."""

    __slots__ = ("_obj",)

    def __init__(self, obj: models.Model) -> None:
        object.__setattr__(self, "_obj", obj)

    def __getattr__(self, name: str) -> Any:
        obj = object.__getattribute__(self, "_obj")
        allowed = visible_fields(type(obj))
        if name in ("pk", "id"):
            return obj.pk
        if name in allowed:
            return seal(getattr(obj, name))
        field = allowed.get(name.removeprefix("get_").removesuffix("_display"))
        if name.startswith("get_") and name.endswith("_display") and field and field.choices:
            return getattr(obj, name)
        raise AttributeError(name)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("sealed")

    def __str__(self) -> str:
        return str(object.__getattribute__(self, "_obj"))

    def __eq__(self, other: object) -> bool:
        return unseal(self) == unseal(other)

    def __hash__(self) -> int:
        return hash(unseal(self))


def unseal(value: Any) -> Any:
    """The model behind a sealed value: for our own filters (`messaging`), which are
    trusted code and may follow relations to compute what they return."""
    if isinstance(value, Sealed):
        return object.__getattribute__(value, "_obj")
    return value
