"""What every probe kind is (its settings, their rules, its schedule, its check) and where
each is found.

Kinds live one module each in `statuspage.checks` and register an instance here with
`@register`. The package imports every kind module, so whoever imports `statuspage.checks`
finds them all; `Probe` asks `kind_for(probe.kind)` instead of branching on its kind. A kind
reads a probe only through the fields it declares and never imports `statuspage.models`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from django.utils.translation import gettext as _

from statuspage.checks.expressions import ExpressionError
from statuspage.checks.outcome import CheckOutcome

if TYPE_CHECKING:
    from statuspage.models import Probe

# A parser of one setting: raises ExpressionError, whose message says how to fix it.
Validator = Callable[[Any], object]


class Check(Protocol):
    """A probe detached from the ORM, runnable by the engine and the agents alike. None:
    nothing to run over the network (a pushed kind, judged from its row)."""

    @property
    def probe_id(self) -> int: ...

    @classmethod
    def from_probe(cls, probe: Probe) -> Check: ...

    async def run(self, session: Any) -> CheckOutcome | None: ...


class ProbeKind:
    """One kind of probe. Subclasses set the class attributes and override what differs."""

    name: ClassVar[str]
    # The runnable check: `check.from_probe(probe)` copies the settings it needs.
    check: ClassVar[type[Check]]
    # Settings that must be given (a blank one is reported under its own name).
    required: ClassVar[tuple[str, ...]] = ()
    # Every setting of the kind, required ones included: what the admin and the YAML loader
    # show for it, and what agents are sent.
    fields: ClassVar[tuple[str, ...]] = ()
    # What the kind records on the probe row, shown read-only with its settings.
    readouts: ClassVar[tuple[str, ...]] = ()
    validators: ClassVar[Mapping[str, Validator]] = {}
    # True: the monitored system reports to us (ping URLs): agents are never assigned it, and
    # the loader prints its ping URL.
    pushed: ClassVar[bool] = False
    # True: one result confirms a change (a heartbeat's grace period is its confirmation).
    confirms_at_once: ClassVar[bool] = False

    def build(self, probe: Probe) -> Check:
        return self.check.from_probe(probe)

    def next_run(self, probe: Probe, now: datetime) -> datetime:
        """Keep the cadence anchored to the schedule, but never schedule into the past."""
        if probe.next_run_at is None:
            return now + probe.interval
        candidate = probe.next_run_at + probe.interval
        return candidate if candidate > now else now + probe.interval

    def problems(self, probe: Probe) -> dict[str, str]:
        """Each setting the kind needs but lacks or cannot read, by field name."""
        missing = _("Required for a %(kind)s probe.") % {"kind": self.name}
        errors = {f: missing for f in self.required if getattr(probe, f) in (None, "")}
        for field, validate in self.validators.items():
            if value := getattr(probe, field):
                errors.update(parse_error(field, validate, value))
        errors.update(self.cross_problems(probe))
        return errors

    def cross_problems(self, probe: Probe) -> dict[str, str]:
        """Rules over several settings at once."""
        return {}


def parse_error(field: str, validate: Callable[..., object], *args: Any) -> dict[str, str]:
    """{field: why} when the setting cannot be read, else {}."""
    try:
        validate(*args)
    except ExpressionError as error:
        return {field: str(error)}
    return {}


_registry: dict[str, ProbeKind] = {}


def register(cls: type[ProbeKind]) -> type[ProbeKind]:
    _registry[cls.name] = cls()
    return cls


def registered() -> dict[str, ProbeKind]:
    """Every registered kind by name."""
    return _registry


def kind_for(name: str) -> ProbeKind:
    return _registry[name]


def pushed_kinds() -> list[str]:
    return [name for name, kind in _registry.items() if kind.pushed]


def network_fields() -> list[str]:
    """The settings of every kind the engine or an agent runs over the network."""
    fields = (f for kind in _registry.values() if not kind.pushed for f in kind.fields)
    return list(dict.fromkeys(fields))
