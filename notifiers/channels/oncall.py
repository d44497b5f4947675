"""The on-call roster, read through NOTIFIERS_ONCALL_PROVIDER (the escalation clock owns it).

The provider is a dotted path to a callable returning contacts with ``name``, ``phone``
(E.164) and ``email``; a missing provider means nobody is on call, never a crash.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from django.conf import settings
from django.utils.module_loading import import_string

from notifiers.registry import Target

log = logging.getLogger(__name__)


def current_contacts() -> list:
    try:
        provider = import_string(settings.NOTIFIERS_ONCALL_PROVIDER)
    except ImportError:
        log.error(
            "on-call provider %s not found: nobody is paged", settings.NOTIFIERS_ONCALL_PROVIDER
        )
        return []
    return list(provider())


def oncall_targets(field: str) -> Iterator[Target]:
    """One target per on-call contact that has this field (phone or email), no repeats."""
    seen = set()
    for contact in current_contacts():
        address = getattr(contact, field, "") or ""
        if address and address not in seen:
            seen.add(address)
            yield Target(address)
