"""The on-call roster, read through NOTIFIERS_ONCALL_PROVIDER (the escalation clock owns it).

The provider is a dotted path to a callable returning contacts with ``name``, ``phone``
(E.164) and ``email``; a missing provider means nobody is on call, never a crash. A page
goes to the people recorded when it fired: NOTIFIERS_ONCALL_PAGED_PROVIDER is given the
announcement's update and returns them, or None when none were recorded (then the roster).
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


def recorded_contacts(update) -> list | None:
    path = getattr(settings, "NOTIFIERS_ONCALL_PAGED_PROVIDER", "")
    if not path:
        return None
    try:
        provider = import_string(path)
    except ImportError:
        log.error("paged-contacts provider %s not found: the roster is paged", path)
        return None
    return provider(update)


def oncall_targets(field: str, announcement=None) -> Iterator[Target]:
    """One target per on-call contact that has this field (phone or email), no repeats: the
    people recorded for the announcement's page when there are, else the roster."""
    recorded = recorded_contacts(announcement.update) if announcement is not None else None
    seen = set()
    for contact in current_contacts() if recorded is None else recorded:
        address = getattr(contact, field, "") or ""
        if address and address not in seen:
            seen.add(address)
            yield Target(address)
