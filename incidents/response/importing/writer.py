"""The checked rows written in one transaction, each matched by its Statuspage id.

A row is created once, kept when nothing differs, and updated in place when a later export
says otherwise (an edited body, a resolved incident). Ids that fit our public ids become
them, so `/incidents/<id>` links to the old page keep working once its address points here.
Incidents are recorded as published (they were public there), and maintenance never moves
by itself: nothing here announces, pages, posts or wakes the escalation clock.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from django.db import models, transaction

from incidents.models import AffectedComponent, Impact, Incident, IncidentStatus, IncidentUpdate
from incidents.response import audit
from incidents.response.importing.shapes import (
    ComponentRow,
    Export,
    GroupRow,
    IncidentRow,
    UpdateRow,
)
from statuspage.models import Component, ComponentGroup
from statuspage.statuses import STATUS_SEVERITY, ComponentStatus

PUBLIC_ID = re.compile(r"[A-Za-z0-9_-]{1,32}")
# The status an affected component had when no update of the incident says.
STATUS_FOR_IMPACT: dict[str, str] = {
    Impact.NONE: ComponentStatus.DEGRADED_PERFORMANCE,
    Impact.MINOR: ComponentStatus.DEGRADED_PERFORMANCE,
    Impact.MAJOR: ComponentStatus.PARTIAL_OUTAGE,
    Impact.CRITICAL: ComponentStatus.MAJOR_OUTAGE,
}
UPDATE_KINDS: dict[str, str] = {
    IncidentStatus.RESOLVED: IncidentUpdate.Kind.RESOLVED,
    IncidentStatus.POSTMORTEM: IncidentUpdate.Kind.POSTMORTEM,
    IncidentStatus.SCHEDULED: IncidentUpdate.Kind.MAINTENANCE_SCHEDULED,
    IncidentStatus.IN_PROGRESS: IncidentUpdate.Kind.MAINTENANCE_STARTED,
    IncidentStatus.COMPLETED: IncidentUpdate.Kind.MAINTENANCE_COMPLETED,
}
CLOSED = (IncidentStatus.RESOLVED, IncidentStatus.POSTMORTEM, IncidentStatus.COMPLETED)


@dataclass
class Tally:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: int = 0


@dataclass
class ImportReport:
    dry_run: bool
    groups: Tally = field(default_factory=Tally)
    components: Tally = field(default_factory=Tally)
    incidents: Tally = field(default_factory=Tally)
    updates: Tally = field(default_factory=Tally)
    # Incidents changed here since the export was taken: kept as they are.
    kept: list[str] = field(default_factory=list)


def import_export(export: Export, now: datetime, dry_run: bool = False) -> ImportReport:
    """Write the export, all of it or (on any error) none; a dry run is rolled back."""
    report = ImportReport(dry_run=dry_run)
    with transaction.atomic():
        for group in export.groups.values():
            write_group(group, report.groups)
        groups = {g.external_id: g for g in ComponentGroup.objects.exclude(external_id="")}
        for component in export.components.values():
            write_component(component, groups, report.components)
        components = {c.external_id: c for c in Component.objects.exclude(external_id="")}
        for row in sorted(export.incidents.values(), key=lambda r: r.created_at):
            write_incident(row, components, report, now)
        if dry_run:
            transaction.set_rollback(True)
    return report


def differences(instance: models.Model, wanted: dict) -> list[str]:
    """Set the fields that differ from `wanted`; returns their names."""
    changed = [name for name, value in wanted.items() if getattr(instance, name) != value]
    for name in changed:
        setattr(instance, name, wanted[name])
    return changed


def free_public_id(model: type[models.Model], wanted: str) -> str | None:
    if PUBLIC_ID.fullmatch(wanted) and not model._default_manager.filter(public_id=wanted).exists():
        return wanted
    return None


def free_name(model: type[models.Model], row_id: str, names: list[str], pk: int | None) -> str:
    """The first of `names` no other row has (names are unique here, not on Statuspage)."""
    others = model._default_manager.exclude(pk=pk) if pk else model._default_manager.all()
    for name in [*names, f"{names[0]} ({row_id})"]:
        if not others.filter(name=name).exists():
            return name
    return f"{names[0]} ({row_id})"


def find(model: type[models.Model], row: GroupRow):
    """The row imported before, or ours of the same name not imported yet (adopted)."""
    manager = model._default_manager
    return (
        manager.filter(external_id=row.id).first()
        or manager.filter(external_id="", name=row.name).first()
    )


def write_group(row: GroupRow, tally: Tally) -> None:
    group = find(ComponentGroup, row)
    wanted = {
        "external_id": row.id,
        "name": free_name(ComponentGroup, row.id, [row.name], group and group.pk),
        "description": row.description,
        "position": row.position,
    }
    save_with_times(ComponentGroup, group, wanted, row, tally, f"group {wanted['name']!r}")


def write_component(row: ComponentRow, groups: dict, tally: Tally) -> None:
    component = find(Component, row)
    group = groups.get(row.group_id)
    names = [row.name] + ([f"{row.name} ({group.name})"] if group else [])
    wanted = {
        "external_id": row.id,
        "name": free_name(Component, row.id, names, component and component.pk),
        "description": row.description,
        "group": group,
        "position": row.position,
        "showcase": row.showcase,
        "only_show_if_degraded": row.only_show_if_degraded,
        "start_date": row.start_date,
    }
    if component is None:
        wanted["status"] = row.status
    else:
        component.set_status(row.status)  # logged for the uptime history; times are set next
    save_with_times(Component, component, wanted, row, tally, f"component {wanted['name']!r}")


def save_with_times(model, instance, wanted: dict, row: GroupRow, tally: Tally, label: str):
    """Create or update a group or component, then give it Statuspage's own times (its
    `created_at`/`updated_at` are set by Django on save, so they are written after)."""
    if instance is None:
        instance = model(**wanted)
        instance.public_id = free_public_id(model, row.id) or instance.public_id
        instance.save()
        tally.created.append(label)
        changed = ["created_at", "updated_at"]
    else:
        changed = differences(instance, wanted)
        if changed:
            instance.save()
    times = {"created_at": row.created_at, "updated_at": row.updated_at}
    if changed or differences(instance, times):
        model._default_manager.filter(pk=instance.pk).update(**times)
        instance.created_at, instance.updated_at = row.created_at, row.updated_at
        if label not in tally.created:
            tally.updated.append(label)
    else:
        tally.unchanged += 1
    return instance


def incident_fields(row: IncidentRow) -> dict:
    identified = [u.display_at for u in row.updates if u.status == IncidentStatus.IDENTIFIED]
    last = max((u.display_at for u in row.updates), default=row.updated_at)
    resolved_at = row.resolved_at or (last if row.status in CLOSED else None)
    return {
        "name": row.name,
        "status": row.status,
        "impact": row.impact,
        "kind": Incident.Kind.MAINTENANCE if row.maintenance else Incident.Kind.INCIDENT,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
        "started_at": row.started_at,
        "detected_at": row.created_at,
        "identified_at": min(identified, default=None),
        "monitoring_at": row.monitoring_at,
        "resolved_at": resolved_at,
        "published_at": row.created_at,
        "scheduled_for": row.scheduled_for,
        "scheduled_until": row.scheduled_until,
        "announce_before_minutes": [],
        "auto_transition": False,
    }


def write_incident(row: IncidentRow, components: dict, report: ImportReport, now: datetime) -> None:
    incident = Incident.objects.filter(external_id=row.id).first()
    label = f"{'maintenance' if row.maintenance else 'incident'} {row.name!r} ({row.id})"
    wanted = incident_fields(row)
    if incident is None:
        incident = Incident(external_id=row.id, **wanted)
        incident.public_id = free_public_id(Incident, row.id) or incident.public_id
        incident.save()
        report.incidents.created.append(label)
        audit.record(incident, None, "imported", now, after=audit.snapshot(incident), reason=label)
    elif incident.updated_at > row.updated_at:
        report.kept.append(label)
    elif changed := differences(incident, wanted):
        before = audit.snapshot(Incident.objects.get(pk=incident.pk))
        incident.save()
        report.incidents.updated.append(f"{label}: {', '.join(changed)}")
        audit.record(incident, None, "imported", now, before, audit.snapshot(incident), label)
    else:
        report.incidents.unchanged += 1
    write_affected(incident, row, components)
    updates = sorted(row.updates, key=lambda u: u.display_at)
    for update in updates + ([row.postmortem] if row.postmortem else []):
        opening = bool(updates) and update is updates[0]
        write_update(
            incident, update, update_kind(row, update, opening), components, report.updates
        )


def affected_statuses(row: IncidentRow) -> dict[str, str]:
    """Each affected component's worst status during the incident, by Statuspage id."""
    default = (
        ComponentStatus.UNDER_MAINTENANCE if row.maintenance else STATUS_FOR_IMPACT[row.impact]
    )
    worst = dict.fromkeys(row.component_ids, "")
    for update in row.updates:
        for entry in update.affected_components or []:
            status = entry["new_status"]
            if status == ComponentStatus.OPERATIONAL:
                worst.setdefault(entry["code"], "")
            elif STATUS_SEVERITY[status] > STATUS_SEVERITY.get(worst.get(entry["code"]) or "", -1):
                worst[entry["code"]] = status
    return {code: status or default for code, status in worst.items()}


def write_affected(incident: Incident, row: IncidentRow, components: dict) -> None:
    existing = {a.component_id: a for a in incident.affected.all()}
    for code, status in affected_statuses(row).items():
        component = components.get(code)
        if component is None:
            continue  # a component deleted on the old page: its name stays in the updates
        affected = existing.get(component.pk)
        if affected is None:
            AffectedComponent.objects.create(incident=incident, component=component, status=status)
        elif affected.status != status:
            affected.status = status
            affected.save(update_fields=["status"])


def update_kind(row: IncidentRow, update: UpdateRow, opening: bool) -> str:
    kind = UPDATE_KINDS.get(update.status)
    if kind is not None:
        return kind
    if opening and not row.maintenance:
        return IncidentUpdate.Kind.OPENED
    return IncidentUpdate.Kind.UPDATE


def our_codes(affected: list[dict] | None, components: dict) -> list[dict] | None:
    """Statuspage's affected components, their codes now our components' public ids."""
    if affected is None:
        return None
    return [
        {**entry, "code": components[entry["code"]].public_id}
        if entry["code"] in components
        else entry
        for entry in affected
    ]


def write_update(
    incident: Incident, row: UpdateRow, kind: str, components: dict, tally: Tally
) -> None:
    wanted = {
        "incident": incident,
        "kind": kind,
        "status": row.status,
        "body": row.body,
        "affected_components": our_codes(row.affected_components, components),
        "deliver_notifications": row.deliver_notifications,
        "display_at": row.display_at,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    }
    update = IncidentUpdate.everything.filter(external_id=row.id).first()
    if update is None:
        update = IncidentUpdate(external_id=row.id, **wanted)
        update.public_id = free_public_id(IncidentUpdate, row.id) or update.public_id
        update.save()
        tally.created.append(row.id)
    elif changed := differences(update, wanted):
        update.save()
        tally.updated.append(f"{row.id}: {', '.join(changed)}")
    else:
        tally.unchanged += 1
