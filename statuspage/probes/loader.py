"""Configuration as code: components and their probes from a YAML file, applied idempotently.

Components are matched by name and probes by (component, name), so loading the same file
twice changes nothing, and editing a value and loading again updates it in place. Every
problem in the file is reported with its line and field, and then nothing is changed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import yaml
from django.core.exceptions import ValidationError
from django.db import transaction

from statuspage.checks import kind_for, registered
from statuspage.models import SHARED_PROBE_SETTINGS, Audience, Component, ComponentGroup, Probe

COMPONENT_FIELDS = {
    "name",
    "group",
    "description",
    "advice",
    "position",
    "showcase",
    "only_show_if_degraded",
    "audiences",
    "probes",
}
# A probe's keys: the settings every kind has, and each kind's own (statuspage.checks).
PROBE_FIELDS = {*SHARED_PROBE_SETTINGS, *(f for kind in registered().values() for f in kind.fields)}


class Mapping(dict):
    """A YAML mapping that remembers the line of itself and of each of its keys."""

    line: int = 0
    key_lines: dict


class LineLoader(yaml.SafeLoader):
    def construct_mapping(self, node, deep=False):
        mapping = Mapping(super().construct_mapping(node, deep=True))
        mapping.line = node.start_mark.line + 1
        mapping.key_lines = {
            k.value: k.start_mark.line + 1 for k, _ in node.value if isinstance(k, yaml.ScalarNode)
        }
        return mapping


LineLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, LineLoader.construct_mapping
)


@dataclass
class Problem:
    line: int
    where: str
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.where}: {self.message}"


class ConfigError(Exception):
    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


@dataclass
class LoadReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    heartbeats: list[Probe] = field(default_factory=list)
    # Probes in the database the file no longer names (removed only with prune).
    pruned: list[str] = field(default_factory=list)
    # Of those, the ones whose open incident will then need a person to resolve it.
    open_incidents: list[str] = field(default_factory=list)
    kept: set[int] = field(default_factory=set)


def parse(text: str) -> list[Mapping]:
    try:
        document = yaml.load(text, Loader=LineLoader)  # noqa: S506 (SafeLoader subclass)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        raise ConfigError(
            [
                Problem(
                    mark.line + 1 if mark else 1,
                    "file",
                    f"not valid YAML: {getattr(error, 'problem', error)}",
                )
            ]
        ) from None
    if not isinstance(document, Mapping) or not isinstance(document.get("components"), list):
        raise ConfigError([Problem(1, "file", "expected a top-level 'components:' list")])
    return document["components"]


def key_problems(mapping: Mapping, keys: list[str], where: str, message: str) -> list[Problem]:
    return [Problem(mapping.key_lines.get(k, mapping.line), f"{where}.{k}", message) for k in keys]


def unknown_keys(mapping: Mapping, allowed: set[str], where: str) -> list[Problem]:
    unknown = [k for k in mapping if k not in allowed]
    message = f"unknown field (allowed: {', '.join(sorted(allowed))})"
    return key_problems(mapping, unknown, where, message)


def other_kinds_keys(mapping: Mapping, kind: str, where: str) -> list[Problem]:
    """Settings of other kinds would be stored and never used: say which are this kind's."""
    if kind not in registered():
        return []  # the kind itself is reported
    own = kind_for(kind).fields
    others = [k for k in mapping if k in PROBE_FIELDS - {*SHARED_PROBE_SETTINGS, *own}]
    message = f"not a setting of a {kind} probe (its own: {', '.join(own) or 'none'})"
    return key_problems(mapping, others, where, message)


def field_problems(error: ValidationError, mapping: Mapping, where: str) -> list[Problem]:
    return [
        Problem(
            mapping.key_lines.get(name, mapping.line),
            f"{where}.{name}" if name != "__all__" else where,
            " ".join(messages),
        )
        for name, messages in error.message_dict.items()
    ]


def load(text: str, prune: bool = False, dry_run: bool = False) -> LoadReport:
    """Apply the file, or raise ConfigError listing every problem and change nothing.

    `prune` also deletes every probe the file does not name (their results go with them);
    `dry_run` reports what would change, and changes nothing."""
    components = parse(text)
    report, problems = LoadReport(), []
    with transaction.atomic():
        for index, spec in enumerate(components):
            problems += apply_component(spec, f"components[{index}]", report)
        if not problems and prune:
            prune_unnamed(report)
        if problems or dry_run:
            transaction.set_rollback(True)
    if problems:
        raise ConfigError(problems)
    return report


def prune_unnamed(report: LoadReport) -> None:
    """Delete the probes the file does not name, noting those with an open incident (it
    stays open, since no probe is left to see the recovery)."""
    dropped = Probe.objects.exclude(id__in=report.kept).select_related("component")
    with_incident = set(
        dropped.filter(incidents__resolved_at__isnull=True).values_list("id", flat=True)
    )
    for probe in dropped.order_by("component__name", "name"):
        label = f"{probe.component.name}: {probe.name}"
        report.pruned.append(label)
        if probe.id in with_incident:
            report.open_incidents.append(label)
    dropped.delete()


def apply_component(spec, where: str, report: LoadReport) -> list[Problem]:
    if not isinstance(spec, Mapping):
        return [Problem(1, where, "expected a mapping with at least a name")]
    problems = unknown_keys(spec, COMPONENT_FIELDS, where)
    if not spec.get("name"):
        return problems + [Problem(spec.line, f"{where}.name", "This field is required.")]
    component = Component.objects.filter(name=spec["name"]).first() or Component(name=spec["name"])
    values = {k: v for k, v in spec.items() if k not in {"group", "audiences", "probes"}}
    if "group" in spec:
        component.group = ComponentGroup.objects.get_or_create(name=str(spec["group"]))[0]
    problems += save_if_valid(component, values, spec, where, report, str(spec["name"]))
    if problems or component.pk is None:
        return problems
    if "audiences" in spec:
        problems += set_audiences(component, spec, where)
    for index, probe_spec in enumerate(spec.get("probes") or []):
        problems += apply_probe(component, probe_spec, f"{where}.probes[{index}]", report)
    return problems


def set_audiences(component: Component, spec: Mapping, where: str) -> list[Problem]:
    slugs = [str(s) for s in spec["audiences"] or []]
    found = list(Audience.objects.filter(slug__in=slugs))
    missing = sorted(set(slugs) - {a.slug for a in found})
    if missing:
        return [
            Problem(
                spec.key_lines["audiences"],
                f"{where}.audiences",
                f"unknown audience(s): {', '.join(missing)}",
            )
        ]
    component.audiences.set(found)
    return []


def apply_probe(component: Component, spec, where: str, report: LoadReport) -> list[Problem]:
    if not isinstance(spec, Mapping):
        return [Problem(1, where, "expected a mapping with at least a name")]
    problems = unknown_keys(spec, PROBE_FIELDS, where)
    if not spec.get("name"):
        return problems + [Problem(spec.line, f"{where}.name", "This field is required.")]
    probe = Probe.objects.filter(component=component, name=spec["name"]).first() or Probe(
        component=component, name=spec["name"]
    )
    label = f"{component.name}: {spec['name']}"
    problems += other_kinds_keys(spec, str(spec.get("kind", probe.kind)), where)
    problems += save_if_valid(probe, dict(spec), spec, where, report, label)
    if probe.pk is not None:
        report.kept.add(probe.pk)
    if not problems and probe.rules.pushed:
        report.heartbeats.append(probe)
    return problems


def save_if_valid(
    obj, values: dict, spec: Mapping, where: str, report: LoadReport, label: str
) -> list[Problem]:
    """Set the values, validate the whole object, save only if something changed."""
    before = {k: getattr(obj, k, None) for k in values}
    for key, value in values.items():
        setattr(obj, key, value)
    try:
        obj.full_clean(validate_unique=False)
    except ValidationError as error:
        return field_problems(error, spec, where)
    if obj.pk is None:
        obj.save()
        report.created.append(label)
    elif any(before[k] != getattr(obj, k) for k in values):
        obj.save()
        report.updated.append(label)
    else:
        report.unchanged.append(label)
    return []
