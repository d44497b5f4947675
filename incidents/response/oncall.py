"""The on-call roster: who is paged. Notifier channels read it through current_contacts()."""

from __future__ import annotations

from incidents.models import OnCallContact


def current_contacts() -> list[OnCallContact]:
    """Active contacts in roster order; each has name, phone (E.164 or '') and email."""
    return list(OnCallContact.objects.filter(active=True))
