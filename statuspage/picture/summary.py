"""The public picture of the page, read in a fixed number of queries.

Both the HTML page and the Statuspage-compatible JSON are built from a `Snapshot`, so they
can never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Max, Prefetch
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from incidents.models import Impact, Incident, IncidentStatus, IncidentUpdate
from statuspage.models import (
    Component,
    ComponentGroup,
)
from statuspage.picture.monitoring import (
    INDICATOR_WHEN_UNKNOWN,
    MonitoringState,
    monitoring_state,
    overall_when_unknown,
)
from statuspage.picture.silence import with_silence
from statuspage.statuses import ComponentStatus, worst_status

INDICATOR_ORDER = ["none", "minor", "major", "critical"]
INDICATOR_FOR_STATUS: dict[str, str] = {
    ComponentStatus.OPERATIONAL: "none",
    ComponentStatus.UNDER_MAINTENANCE: "none",
    ComponentStatus.DEGRADED_PERFORMANCE: "minor",
    ComponentStatus.PARTIAL_OUTAGE: "major",
    ComponentStatus.MAJOR_OUTAGE: "critical",
}
INDICATOR_FOR_IMPACT: dict[str, str] = {
    Impact.NONE: "none",
    Impact.MINOR: "minor",
    Impact.MAJOR: "major",
    Impact.CRITICAL: "critical",
}


@dataclass
class GroupView:
    group: ComponentGroup
    components: list[Component]

    @property
    def status(self) -> str:
        return worst_status(c.status for c in self.components)

    @property
    def status_unknown(self) -> bool:
        return any(c.status_unknown for c in self.components)


@dataclass
class OverallStatus:
    indicator: str
    description: str


@dataclass
class Snapshot:
    components: list[Component]
    groups: list[GroupView]
    ungrouped: list[Component]
    incidents: list[Incident]
    updated_at: datetime | None
    overall: OverallStatus = field(init=False)
    monitoring: MonitoringState = field(default_factory=monitoring_state)

    def __post_init__(self) -> None:
        overall = with_unknown_components(
            overall_status(self.components, self.incidents), self.unknown_components
        )
        self.overall = OverallStatus(
            *overall_when_unknown(
                overall.indicator,
                overall.description,
                self.monitoring,
                INDICATOR_ORDER,
                str(_("Status unknown: monitoring interrupted")),
            )
        )

    @property
    def last_modified(self) -> datetime | None:
        """For Last-Modified: none while a status is unknown, since that began after the
        stamps of the rows it reads, or a client revalidating by date alone would keep its
        green copy (304); the ETag of the body still spares it the transfer."""
        if self.monitoring.interrupted or self.unknown_components:
            return None
        return self.updated_at

    @property
    def watching(self) -> bool:
        """Every open incident is back and being watched (monitoring) and every component
        works: the page says so instead of the impact's words. The API keeps Statuspage's
        indicator and description, which follow the unresolved incident's impact."""
        return (
            bool(self.incidents)
            and all(i.status == IncidentStatus.MONITORING for i in self.incidents)
            and all(c.status == ComponentStatus.OPERATIONAL for c in self.components)
            and not self.monitoring.interrupted
            and not self.unknown_components
        )

    @property
    def unknown_components(self) -> list[Component]:
        """Components a silent probe leaves without a known status (statuspage.picture.silence)."""
        return [c for c in self.components if c.status_unknown]


def with_unknown_components(overall: OverallStatus, unknown: list[Component]) -> OverallStatus:
    """Never a stale green for one component either: at least 'minor', and when nothing
    worse is going on, a description that says whose status is unknown."""
    if not unknown:
        return overall
    indicator = max(overall.indicator, INDICATOR_WHEN_UNKNOWN, key=INDICATOR_ORDER.index)
    if overall.indicator != "none":
        return OverallStatus(indicator, overall.description)
    if len(unknown) == 1:
        description = _("Status unknown: %(name)s is not being checked") % {"name": unknown[0].name}
    else:
        description = ngettext(
            "Status unknown: %(count)d component is not being checked",
            "Status unknown: %(count)d components are not being checked",
            len(unknown),
        ) % {"count": len(unknown)}
    return OverallStatus(indicator, str(description))


def describe(components: list[Component]) -> str:
    statuses = [c.status for c in components]
    worst = worst_status(statuses)
    if worst == ComponentStatus.OPERATIONAL:
        return str(_("All Systems Operational"))
    if worst == ComponentStatus.UNDER_MAINTENANCE:
        return str(_("Service Under Maintenance"))
    if worst == ComponentStatus.DEGRADED_PERFORMANCE:
        if all(s == worst for s in statuses):
            return str(_("Degraded System Service"))
        return str(_("Partially Degraded Service"))
    if worst == ComponentStatus.PARTIAL_OUTAGE:
        return str(_("Partial System Outage"))
    return str(_("Major System Outage"))


def overall_status(components: list[Component], incidents: list[Incident]) -> OverallStatus:
    candidates = [INDICATOR_FOR_STATUS[c.status] for c in components]
    candidates += [INDICATOR_FOR_IMPACT[i.impact] for i in incidents]
    indicator = max(candidates, key=INDICATOR_ORDER.index, default="none")
    description = describe(components)
    if indicator != "none" and description == str(_("All Systems Operational")):
        description = describe_impact(indicator)
    return OverallStatus(indicator, description)


def describe_impact(indicator: str) -> str:
    """The words for an open incident's impact while every component is operational, so
    the description never says less than the indicator does."""
    if indicator == "critical":
        return str(_("Major System Outage"))
    if indicator == "major":
        return str(_("Partial System Outage"))
    return str(_("Minor Service Outage"))


def with_timeline(incidents):
    """Updates newest first and components with their group, in two extra queries."""
    return incidents.prefetch_related(
        Prefetch("updates", queryset=IncidentUpdate.objects.order_by("-display_at", "-id")),
        Prefetch("components", queryset=Component.objects.shown().select_related("group")),
    )


def unresolved_incidents() -> list[Incident]:
    return list(with_timeline(Incident.objects.public().unresolved().order_by("-detected_at")))


def recent_incidents(limit: int = 50, component: Component | None = None) -> list[Incident]:
    """The most recent incidents, resolved and postmortem included, as incidents.json lists."""
    incidents = Incident.objects.public().order_by("-created_at", "-id")
    if component is not None:
        incidents = incidents.filter(components=component)
    return list(with_timeline(incidents)[:limit])


def last_incident_change() -> datetime | None:
    return Incident.objects.public().aggregate(latest=Max("updated_at"))["latest"]


def build_snapshot() -> Snapshot:
    components = list(with_silence(Component.objects.shown().select_related("group")))
    incidents = unresolved_incidents()
    groups: dict[int, GroupView] = {}
    ungrouped = []
    for component in components:
        group = component.group
        if group is None:
            ungrouped.append(component)
        else:
            groups.setdefault(group.id, GroupView(group, [])).components.append(component)
    stamps = [c.updated_at for c in components] + [i.updated_at for i in incidents]
    stamps += [s for s in [last_incident_change()] if s is not None]
    ordered_groups = sorted(groups.values(), key=lambda g: (g.group.position, g.group.name))
    return Snapshot(components, ordered_groups, ungrouped, incidents, max(stamps, default=None))
