"""`private_to` in the management API: a list of audience slugs, [] for public, each an
audience with a private page (as the console's new-incident form offers them)."""

from __future__ import annotations

from django.db.models import Model

from statuspage.inputs import text_problem
from statuspage.models import Audience

FIELD = "private_to"


def audiences_from(data: dict, errors: dict[str, str]) -> list[Audience] | None:
    """The audiences named by `private_to`, None when it is absent (nothing changes), or
    an entry in `errors` saying what is wrong."""
    if FIELD not in data:
        return None
    slugs = data[FIELD]
    if not isinstance(slugs, list) or not all(
        isinstance(s, str) and not text_problem(s) for s in slugs
    ):
        errors[FIELD] = "A list of audience slugs; [] for public."
        return None
    found = {a.slug: a for a in Audience.objects.filter(slug__in=slugs)}
    unknown = sorted(set(slugs) - set(found))
    without_page = sorted(slug for slug, a in found.items() if not a.private_page)
    if unknown:
        errors[FIELD] = f"Unknown audience slug(s): {', '.join(unknown)}."
    elif without_page:
        errors[FIELD] = f"Audience(s) without a private page: {', '.join(without_page)}."
    return None if FIELD in errors else list(found.values())


def slugs_of(row: Model) -> list[str]:
    """The slugs a component or incident is private to (prefetch `private_to` for lists)."""
    return sorted(a.slug for a in row.private_to.all())  # type: ignore[attr-defined]
