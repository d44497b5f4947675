"""Escalation policies: the shipped default, loading from a YAML file, choosing one.

The default policy answers "how soon is too soon": on-call staff are paged and the page,
banner and app push go out at once; subscribers hear by email and SMS after 10 minutes
unless it is already over; social networks and webhooks after 15; then every 30 minutes
on-call staff are reminded if they have been quiet for 20, and a holding update keeps the
promise of the last one. Which channel does what when is each channel's own declaration
(`Channel.escalation`, read through notifiers.registry); this module adds the page, the
reminders' cadence and the holding update, and groups the channels into steps.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import yaml
from django.db import transaction

from incidents.models import (
    PAGE_CHANNEL,
    Action,
    EscalationLevel,
    EscalationPolicy,
    EscalationStep,
    Incident,
    OnCallContact,
    Schedule,
)
from notifiers.models import Recipients
from notifiers.registry import MINUTE, by_priority
from statuspage.models import Component

DEFAULT_POLICY_NAME = "Default"
# What is not a channel's: the page itself goes public at once (delay, action, recipients).
PAGE_SLOT: tuple[int, str, str] = (0, Action.PUBLISH, Recipients.APP_USERS)
HOLDING_STEP = {"delay": 30 * MINUTE, "action": Action.HOLDING}
REMINDER_CADENCE = {"every": 30 * MINUTE, "if_quiet_for": 20 * MINUTE}
# Steps at the same time run in this order: a page before anything public.
ACTION_ORDER = [Action.PAGE, Action.PUBLISH, Action.REMIND, Action.HOLDING]


def default_steps() -> list[dict]:
    """The shipped default policy's steps, from every registered channel's slots."""
    grouped: dict[tuple[int, str, str], list[str]] = {PAGE_SLOT: [PAGE_CHANNEL]}
    for cls in by_priority():
        for slot in cls.escalation:
            grouped.setdefault((slot.after, slot.action, slot.recipients), []).append(cls.name)
    steps = [
        {"delay": delay, "action": action, "recipients": recipients, "channels": names}
        | (REMINDER_CADENCE if action == Action.REMIND else {})
        for (delay, action, recipients), names in grouped.items()
    ]
    steps.append(dict(HOLDING_STEP))
    return sorted(steps, key=step_order)


def step_order(step: dict) -> tuple[int, int, str]:
    return step["delay"], ACTION_ORDER.index(step["action"]), step.get("recipients", "")


class PolicyError(ValueError):
    """A policy file that cannot be loaded; the message names the policy and field."""


def ensure_default_policy() -> EscalationPolicy:
    """The shipped default, created once; an admin's edits to it are kept."""
    policy, created = EscalationPolicy.objects.get_or_create(
        name=DEFAULT_POLICY_NAME,
        defaults={
            "priority": 1000,
            "description": "Shipped default: see incidents/response/policies.py",
        },
    )
    if created:
        write_steps(policy, default_steps())
    return policy


def write_steps(policy: EscalationPolicy, steps: Iterable[dict]) -> None:
    policy.steps.all().delete()
    steps = list(steps)
    made = EscalationStep.objects.bulk_create(
        EscalationStep(
            policy=policy,
            position=index,
            delay_seconds=step["delay"],
            action=step["action"],
            recipients=step.get("recipients", ""),
            channels=list(step.get("channels", [])),
            repeat_every_seconds=step.get("every", 0),
            if_quiet_for_seconds=step.get("if_quiet_for", 0),
            levels_repeat=step.get("repeat", 0),
        )
        for index, step in enumerate(steps)
    )
    for step, spec in zip(made, steps, strict=True):
        write_levels(step, spec.get("levels", []))


def write_levels(step: EscalationStep, levels: list[dict]) -> None:
    """A page step's levels, their schedule and contacts already found (`resolve_levels`)."""
    for position, spec in enumerate(levels, start=1):
        level = EscalationLevel.objects.create(
            step=step, position=position, schedule=spec["schedule"], wait_minutes=spec["wait"] // 60
        )
        level.contacts.set(spec["contacts"])


def resolve_levels(step: dict, where: str, schedules_by: str = "name") -> dict:
    """The parsed step with each level's schedule and contacts found: the schedule by name
    (the file) or by id (the management API, as its schedules are named), contacts by name.
    An unknown one is a PolicyError naming the field."""
    resolved = []
    for n, spec in enumerate(step.get("levels", [])):
        here = f"{where}.levels[{n}]"
        schedule = None
        if spec["schedule"]:
            schedule = find_schedule(spec["schedule"], schedules_by)
            if schedule is None:
                raise PolicyError(f"{here}.schedule: unknown schedule {spec['schedule']!r}.")
        contacts = list(OnCallContact.objects.filter(name__in=spec["contacts"]))
        missing = set(spec["contacts"]) - {c.name for c in contacts}
        if missing:
            raise PolicyError(f"{here}.contacts: unknown contact(s) {', '.join(sorted(missing))}.")
        resolved.append({**spec, "schedule": schedule, "contacts": contacts})
    return {**step, "levels": resolved} if resolved else step


def find_schedule(value: object, by: str) -> Schedule | None:
    if by == "name":
        return Schedule.objects.filter(name=str(value)).first()
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**31:
        return Schedule.objects.filter(id=value).first()
    return None


def choose_policy(components: Iterable[Component], impact: str) -> EscalationPolicy:
    ids = {c.id for c in components}
    for policy in EscalationPolicy.objects.prefetch_related("components"):
        if policy.applies_to(ids, impact):
            return policy
    return ensure_default_policy()


def assign_policy(incident: Incident) -> EscalationPolicy:
    incident.policy = choose_policy(incident.components.all(), incident.impact)
    incident.save(update_fields=["policy"])
    return incident.policy


# --- The YAML file ----------------------------------------------------------------------

ACTIONS = {a.value for a in Action}
# At most 20 levels a step, each waiting at most a week, gone through at most 21 times: the
# clock's last turn stays within a few years of detection, never past datetime's range.
MAX_LEVELS = 20
MAX_LEVEL_WAIT = 7 * 86400
RECIPIENTS = {r.value for r in Recipients}


def parse_duration(value, where: str) -> int:
    """Seconds from 90, "90s", "10m", "1h" or "1h30m"."""
    if isinstance(value, int) and value >= 0:
        return value
    text = str(value).strip().lower()
    total, number = 0, ""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    for char in text:
        if char.isdigit():
            number += char
        elif char in units and number:
            total, number = total + int(number) * units[char], ""
        else:
            raise PolicyError(f"{where}: '{value}' is not a duration like 10m, 1h or 90s.")
    if number:
        total += int(number)
    return total


def parse_step(raw, where: str) -> dict:
    if not isinstance(raw, dict):
        raise PolicyError(f"{where}: a step is a mapping with after, do and channels.")
    action = raw.get("do")
    if action not in ACTIONS:
        raise PolicyError(f"{where}.do: must be one of {', '.join(sorted(ACTIONS))}.")
    step = {"delay": parse_duration(raw.get("after", 0), f"{where}.after"), "action": action}
    channels = raw.get("channels", [])
    if not isinstance(channels, list) or not all(isinstance(c, str) for c in channels):
        raise PolicyError(f"{where}.channels: a list of channel names.")
    step["channels"] = channels
    if action == Action.PUBLISH:
        if raw.get("to") not in RECIPIENTS:
            raise PolicyError(f"{where}.to: must be one of {', '.join(sorted(RECIPIENTS))}.")
        step["recipients"] = raw["to"]
    if "every" in raw:
        step["every"] = parse_duration(raw["every"], f"{where}.every")
    if "if_quiet_for" in raw:
        step["if_quiet_for"] = parse_duration(raw["if_quiet_for"], f"{where}.if_quiet_for")
    if "levels" in raw:
        step.update(parse_levels(raw, action, where))
    return step


def parse_levels(raw: dict, action: str, where: str) -> dict:
    """`levels: [{schedule: NAME, contacts: [NAME], wait: 10m}]` and `repeat: K` on a page
    step."""
    levels = raw["levels"]
    if action != Action.PAGE or not isinstance(levels, list) or not levels:
        raise PolicyError(f"{where}.levels: a non-empty list, on page steps only.")
    if len(levels) > MAX_LEVELS:
        raise PolicyError(f"{where}.levels: at most {MAX_LEVELS} levels.")
    parsed = []
    for n, level in enumerate(levels):
        here = f"{where}.levels[{n}]"
        contacts = level.get("contacts", []) if isinstance(level, dict) else None
        if not isinstance(contacts, list) or not all(isinstance(c, str) for c in contacts):
            raise PolicyError(f"{here}: a mapping with schedule, contacts (names) and wait.")
        if not level.get("schedule") and not contacts:
            raise PolicyError(f"{here}: name a schedule or contacts.")
        wait = parse_duration(level.get("wait", "15m"), f"{here}.wait")
        if wait < 60:
            raise PolicyError(f"{here}.wait: at least a minute, e.g. 10m.")
        if wait > MAX_LEVEL_WAIT:
            raise PolicyError(f"{here}.wait: at most a week, e.g. 10m.")
        parsed.append({"schedule": level.get("schedule"), "contacts": contacts, "wait": wait})
    repeat = raw.get("repeat", 0)
    if not isinstance(repeat, int) or isinstance(repeat, bool) or not 0 <= repeat <= 20:
        raise PolicyError(f"{where}.repeat: how many more times, 0 to 20.")
    return {"levels": parsed, "repeat": repeat}


def parse_policies(text: str) -> list[dict]:
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as error:
        raise PolicyError(f"not valid YAML: {error}") from error
    items = data.get("policies") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise PolicyError("the file needs a top-level 'policies:' list.")
    policies = []
    for index, raw in enumerate(items):
        where = f"policies[{index}]"
        if not isinstance(raw, dict) or not raw.get("name"):
            raise PolicyError(f"{where}.name: every policy needs a name.")
        steps = raw.get("steps")
        if not isinstance(steps, list) or not steps:
            raise PolicyError(f"{where}.steps: a non-empty list of steps.")
        policies.append(
            {
                "name": str(raw["name"]),
                "components": list(raw.get("components", [])),
                "impacts": list(raw.get("impacts", [])),
                "priority": int(raw.get("priority", 100)),
                "cadence_minutes": int(raw.get("cadence_minutes", 30)),
                "auto_resolve_minutes": int(raw.get("auto_resolve_minutes", 30)),
                "steps": [parse_step(s, f"{where}.steps[{i}]") for i, s in enumerate(steps)],
            }
        )
    return policies


@transaction.atomic
def load_policies(path: Path) -> list[EscalationPolicy]:
    """Create or replace the policies a file names; nothing changes if any of it is wrong."""
    loaded = []
    for index, spec in enumerate(parse_policies(path.read_text())):
        components = list(Component.objects.filter(name__in=spec["components"]))
        missing = set(spec["components"]) - {c.name for c in components}
        if missing:
            raise PolicyError(f"{spec['name']}: unknown component(s) {', '.join(sorted(missing))}.")
        policy, _ = EscalationPolicy.objects.update_or_create(
            name=spec["name"],
            defaults={
                k: spec[k]
                for k in ("impacts", "priority", "cadence_minutes", "auto_resolve_minutes")
            },
        )
        policy.components.set(components)
        steps = spec["steps"]
        write_steps(
            policy,
            [resolve_levels(s, f"policies[{index}].steps[{i}]") for i, s in enumerate(steps)],
        )
        loaded.append(policy)
    return loaded
