"""Every registered channel declares what the rest of the system reads from the registry,
has a template for every kind and part it declares, and has its sandbox module: adding a
channel without one of them fails here, naming what is missing."""

from __future__ import annotations

import pytest
from django.template import TemplateDoesNotExist
from django.template.loader import get_template

from incidents.models import Action, IncidentUpdate
from notifiers.recipients import Recipients
from notifiers.registry import (
    CARRIED_KINDS,
    ONCALL_KINDS,
    PUBLIC_KINDS,
    Channel,
    Part,
    Slot,
    registered,
)
from notifiers.sandbox.app import provider_modules

REQUIRED = ("name", "label", "parts", "recipients", "escalation", "sandbox")


def missing(cls: type[Channel]) -> list[str]:
    """What `cls` lacks to be a complete channel, in words; [] when nothing."""
    absent = [
        f"{cls.__name__} does not declare {name}" for name in REQUIRED if not hasattr(cls, name)
    ]
    if absent:
        return absent
    return [*declaration_problems(cls), *missing_templates(cls), *sandbox_problems(cls)]


def declaration_problems(cls: type[Channel]) -> list[str]:
    problems = [f"{cls.name}: {p!r} is not a Part" for p in cls.parts if not isinstance(p, Part)]
    if not cls.parts or not cls.recipients:
        problems.append(f"{cls.name}: a channel sends at least one part to someone")
    unknown = set(cls.recipients) - set(Recipients.values)
    if unknown:
        problems.append(f"{cls.name}: unknown recipients {sorted(unknown)}")
    for slot in cls.escalation:
        if not isinstance(slot, Slot) or slot.action not in Action.values:
            problems.append(f"{cls.name}: {slot!r} is not a slot of the default policy")
        elif slot.action == Action.PUBLISH and slot.recipients not in cls.recipients:
            problems.append(f"{cls.name}: publishes to {slot.recipients}, which it does not reach")
    return problems


def missing_templates(cls: type[Channel]) -> list[str]:
    names = [
        f"messages/{cls.name}/{kind}_{part.name}.txt" for kind in cls.kinds() for part in cls.parts
    ]
    return [f"{cls.name}: no template {name}" for name in names if not template_exists(name)]


def template_exists(name: str) -> bool:
    try:
        get_template(name)
    except TemplateDoesNotExist:
        return False
    return True


def sandbox_problems(cls: type[Channel]) -> list[str]:
    modules = {module.__name__.rsplit(".", 1)[1] for module in provider_modules()}
    if cls.sandbox in modules:
        return []
    return [f"{cls.name}: no sandbox provider module notifiers/sandbox/{cls.sandbox}.py"]


@pytest.mark.parametrize("name", sorted(registered()))
def test_the_registered_channel_is_complete(name):
    assert missing(registered()[name]) == []


def test_the_kinds_channels_word_are_every_kind_sent_out():
    """The registry names the kinds itself (it sits below incidents.models)."""
    kinds = {*PUBLIC_KINDS, *ONCALL_KINDS, *CARRIED_KINDS}
    assert kinds == set(IncidentUpdate.Kind.values) - {"note"}
    assert all(set(cls.extra_kinds) <= set(CARRIED_KINDS) for cls in registered().values())


def test_the_channels_are_registered_at_startup():
    assert {"email", "sms", "push", "voice", "webhook", "x", "slack"} <= set(registered())


class Undeclared(Channel):
    name = "pigeon"
    label = "Carrier pigeon"


class Unworded(Channel):
    """Declares everything, but has no templates, no sandbox, and a slot it cannot fill."""

    name = "pigeon"
    label = "Carrier pigeon"
    parts = (Part("body"),)
    recipients = frozenset({Recipients.ONCALL})
    escalation = (Slot(Action.PUBLISH, 0, Recipients.PUBLIC),)
    sandbox = "loft"


def test_a_channel_without_its_declarations_is_reported():
    assert missing(Undeclared) == [
        "Undeclared does not declare parts",
        "Undeclared does not declare recipients",
        "Undeclared does not declare escalation",
        "Undeclared does not declare sandbox",
    ]


def test_a_channel_without_templates_or_a_sandbox_module_is_reported():
    problems = missing(Unworded)
    assert "pigeon: publishes to public, which it does not reach" in problems
    assert "pigeon: no template messages/pigeon/opened_body.txt" in problems
    # It reaches on-call staff, so it must word their pages too.
    assert "pigeon: no template messages/pigeon/paging_body.txt" in problems
    assert "pigeon: no sandbox provider module notifiers/sandbox/loft.py" in problems


def test_one_missing_part_of_a_complete_channel_is_reported():
    sms = registered()["sms"]
    with_footer = type("SmsWithFooter", (sms,), {"parts": (*sms.parts, Part("footer"))})
    assert missing(with_footer) == [
        f"sms: no template messages/sms/{kind}_footer.txt" for kind in sms.kinds()
    ]


def test_the_registry_loads_the_channel_modules_once_on_its_first_question(monkeypatch):
    from notifiers import registry

    calls = []
    for name in ("_registry", "_loader", "_loaded"):
        monkeypatch.setattr(registry, name, getattr(registry, name))
    registry.load_with(lambda: calls.append("loaded"))
    assert calls == [], "nothing is imported before the registry is asked"
    registry.registered()
    registry.channel_choices()
    assert calls == ["loaded"]
