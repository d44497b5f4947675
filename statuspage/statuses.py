"""The five component statuses of Statuspage, and how several roll up into one.

Below the models and the checks alike: a check says what its failure means for a component
without importing the models.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import models
from django.utils.translation import gettext_lazy as _


class ComponentStatus(models.TextChoices):
    OPERATIONAL = "operational", _("Operational")
    DEGRADED_PERFORMANCE = "degraded_performance", _("Degraded performance")
    PARTIAL_OUTAGE = "partial_outage", _("Partial outage")
    MAJOR_OUTAGE = "major_outage", _("Major outage")
    UNDER_MAINTENANCE = "under_maintenance", _("Under maintenance")


def choice_label(choices: type[models.TextChoices], value: str) -> str:
    """The translated label of one choice, for a model's get_status_display: Django's own
    translates every label of the field on each call (it hashes the lazy labels to build a
    map), which a page or feed listing hundreds of statuses pays hundreds of times."""
    try:
        return str(choices(value).label)
    except ValueError:
        return value


# Worst first is highest: used to roll several statuses up into one.
STATUS_SEVERITY: dict[str, int] = {
    ComponentStatus.OPERATIONAL: 0,
    ComponentStatus.UNDER_MAINTENANCE: 1,
    ComponentStatus.DEGRADED_PERFORMANCE: 2,
    ComponentStatus.PARTIAL_OUTAGE: 3,
    ComponentStatus.MAJOR_OUTAGE: 4,
}


def worst_status(statuses: Iterable[str]) -> str:
    return max(statuses, key=lambda s: STATUS_SEVERITY[s], default=ComponentStatus.OPERATIONAL)
