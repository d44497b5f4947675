"""One module per probe kind, each registering itself (`registry.py`); importing this package
imports them all, so `kind_for` finds every kind and `build_check` runs any probe."""

from __future__ import annotations

from typing import TYPE_CHECKING

from statuspage.checks import dns, freshness, heartbeat, http, tcp, upstream
from statuspage.checks.registry import (
    Check,
    ProbeKind,
    kind_for,
    network_fields,
    pushed_kinds,
    registered,
)

if TYPE_CHECKING:
    from statuspage.models import Probe

KIND_MODULES = (http, tcp, dns, heartbeat, freshness, upstream)

__all__ = [
    "Check",
    "ProbeKind",
    "build_check",
    "kind_for",
    "network_fields",
    "pushed_kinds",
    "registered",
]


def build_check(probe: Probe) -> Check:
    return kind_for(probe.kind).build(probe)
