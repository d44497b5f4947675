"""Statuspage's v2 documents checked and turned into rows: every problem is collected with
where it is (document, list index, id, field), and then nothing is written."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from incidents.models import INCIDENT_STATUSES, MAINTENANCE_STATUSES, Impact
from incidents.response.importing.sources import Document
from statuspage.inputs import parse_moment, text_problem
from statuspage.statuses import ComponentStatus

LISTS = ("components", "incidents", "scheduled_maintenances")
MAINTENANCE_IMPACT = "maintenance"  # Statuspage's impact of a maintenance; ours is "none"


@dataclass
class GroupRow:
    id: str
    name: str
    description: str
    position: int
    created_at: datetime
    updated_at: datetime


@dataclass
class ComponentRow(GroupRow):
    status: str
    showcase: bool
    only_show_if_degraded: bool
    start_date: date | None
    group_id: str | None


@dataclass
class UpdateRow:
    id: str
    status: str
    body: str
    created_at: datetime
    updated_at: datetime
    display_at: datetime
    affected_components: list[dict] | None
    deliver_notifications: bool


@dataclass
class IncidentRow:
    id: str
    maintenance: bool
    name: str
    status: str
    impact: str
    created_at: datetime
    updated_at: datetime
    started_at: datetime
    monitoring_at: datetime | None
    resolved_at: datetime | None
    scheduled_for: datetime | None
    scheduled_until: datetime | None
    component_ids: list[str]
    updates: list[UpdateRow]
    postmortem: UpdateRow | None


@dataclass
class Export:
    groups: dict[str, GroupRow] = field(default_factory=dict)
    components: dict[str, ComponentRow] = field(default_factory=dict)
    incidents: dict[str, IncidentRow] = field(default_factory=dict)
    # The documents' `page` objects by id: which settings would answer as the old page did.
    pages: dict[str, dict[str, str]] = field(default_factory=dict)


class ExportError(Exception):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class Fields:
    """Reads one JSON object's fields, noting each problem under `where`."""

    def __init__(self, data: dict, where: str, problems: list[str]) -> None:
        self.data, self.where, self.problems = data, where, problems

    def problem(self, key: str, message: str) -> None:
        self.problems.append(f"{self.where}.{key}: {message}")

    def text(self, key: str, max_length: int | None = None, required: bool = True) -> str:
        value = self.data.get(key)
        if value is None and not required:
            return ""
        if not isinstance(value, str) or (required and not value.strip()):
            self.problem(key, "a non-empty string is required")
            return ""
        problem = text_problem(value)
        if problem:
            self.problem(key, problem)
        elif max_length and len(value) > max_length:
            self.problem(key, f"longer than {max_length} characters")
        return value

    def moment(self, key: str, required: bool = True) -> datetime | None:
        value = self.data.get(key)
        if value is None and not required:
            return None
        try:
            return parse_moment(value)
        except ValueError as error:
            self.problem(key, f"{value!r}: {error}")
            return None

    def choice(self, key: str, allowed: tuple[str, ...]) -> str:
        value = self.data.get(key)
        if value not in allowed:
            self.problem(key, f"{value!r} is not one of {', '.join(allowed)}")
            return ""
        return value

    def flag(self, key: str, default: bool) -> bool:
        value = self.data.get(key, default)
        if value is None:
            return default
        if not isinstance(value, bool):
            self.problem(key, "true or false")
        return bool(value)

    def number(self, key: str) -> int:
        value = self.data.get(key) or 0
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 2**31:
            self.problem(key, "a whole number from 0")
            return 0
        return value

    def day(self, key: str) -> date | None:
        value = self.data.get(key)
        if value is None:
            return None
        try:
            return date.fromisoformat(str(value)[:10])
        except ValueError:
            self.problem(key, f"{value!r} is not a date (YYYY-MM-DD)")
            return None

    def identifier(self) -> str:
        value = self.data.get("id")
        if not isinstance(value, str) or not 0 < len(value) <= 64 or text_problem(value):
            self.problem("id", "an id of 1 to 64 characters is required")
            return ""
        return value

    def objects(self, key: str) -> list[dict]:
        value = self.data.get(key) or []
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            self.problem(key, "a list of objects is required")
            return []
        return value


COMPONENT_STATUSES = tuple(ComponentStatus.values)


def read_export(documents: list[Document]) -> Export:
    """Every document's components, incidents and maintenance, or ExportError with all the
    problems found. A later document's copy of a row replaces an older copy (`updated_at`)."""
    problems: list[str] = []
    export = Export()
    for document in documents:
        read_document(document, export, problems)
    if problems:
        raise ExportError(problems)
    return export


def read_document(document: Document, export: Export, problems: list[str]) -> None:
    data = document.data
    if not isinstance(data, dict) or not any(key in data for key in LISTS):
        problems.append(
            f"{document.name}: not a Statuspage v2 document: expected a JSON object with "
            "components, incidents or scheduled_maintenances (as /api/v2/*.json answer)"
        )
        return
    read_page(data.get("page"), export)
    top = Fields(data, document.name, problems)
    for index, item in enumerate(top.objects("components")):
        read_component(Fields(item, f"{document.name}: components[{index}]", problems), export)
    for key in ("incidents", "scheduled_maintenances"):
        for index, item in enumerate(top.objects(key)):
            fields = Fields(item, f"{document.name}: {key}[{index}]", problems)
            row = read_incident(fields, key == "scheduled_maintenances", export)
            if row is not None:
                keep_newer(export.incidents, row)


def read_page(page: object, export: Export) -> None:
    if isinstance(page, dict) and isinstance(page.get("id"), str):
        keys = ("id", "name", "url", "time_zone")
        export.pages[page["id"]] = {k: page[k] for k in keys if isinstance(page.get(k), str)}


def read_component(fields: Fields, export: Export, embedded: bool = False) -> None:
    row_id = fields.identifier()
    fields.where += f" (id {row_id})"
    group = GroupRow(
        id=row_id,
        name=fields.text("name", max_length=120),
        description=fields.text("description", required=False),
        position=fields.number("position"),
        created_at=fields.moment("created_at"),  # type: ignore[arg-type]
        updated_at=fields.moment("updated_at"),  # type: ignore[arg-type]
    )
    if fields.flag("group", False):
        if not embedded:
            keep_newer(export.groups, group)
        return
    row = ComponentRow(
        **vars(group),
        status=fields.choice("status", COMPONENT_STATUSES),
        showcase=fields.flag("showcase", True),
        only_show_if_degraded=fields.flag("only_show_if_degraded", False),
        start_date=fields.day("start_date"),
        group_id=fields.data.get("group_id") or None,
    )
    if embedded and row_id in export.components:
        return  # the components document says more than an incident's copy
    keep_newer(export.components, row)


def read_incident(
    fields: Fields, listed_as_maintenance: bool, export: Export
) -> IncidentRow | None:
    row_id = fields.identifier()
    fields.where += f" (id {row_id})"
    data = fields.data
    maintenance = (
        listed_as_maintenance
        or data.get("scheduled_for") is not None
        or data.get("status") in MAINTENANCE_STATUSES
    )
    statuses = MAINTENANCE_STATUSES if maintenance else INCIDENT_STATUSES
    impacts = (*Impact.values, MAINTENANCE_IMPACT) if maintenance else tuple(Impact.values)
    for index, item in enumerate(fields.objects("components")):
        where = f"{fields.where}.components[{index}]"
        read_component(Fields(item, where, fields.problems), export, embedded=True)
    updates = [
        read_update(Fields(item, f"{fields.where}.incident_updates[{index}]", fields.problems))
        for index, item in enumerate(fields.objects("incident_updates"))
    ]
    for update in updates:
        if update.status and update.status not in statuses:
            fields.problem(
                f"incident_updates (id {update.id}).status",
                f"{update.status!r} is not one of {', '.join(statuses)}",
            )
    created = fields.moment("created_at")
    row = IncidentRow(
        id=row_id,
        maintenance=maintenance,
        name=fields.text("name", max_length=200),
        status=fields.choice("status", statuses),
        impact=fields.choice("impact", impacts),
        created_at=created,  # type: ignore[arg-type]
        updated_at=fields.moment("updated_at"),  # type: ignore[arg-type]
        started_at=fields.moment("started_at", required=False) or created,  # type: ignore[arg-type]
        monitoring_at=fields.moment("monitoring_at", required=False),
        resolved_at=fields.moment("resolved_at", required=False),
        scheduled_for=fields.moment("scheduled_for", required=maintenance),
        scheduled_until=fields.moment("scheduled_until", required=maintenance),
        component_ids=[
            c["id"]
            for c in fields.objects("components")
            if isinstance(c.get("id"), str) and not c.get("group")
        ],
        updates=updates,
        postmortem=read_postmortem(fields, row_id),
    )
    if row.impact == MAINTENANCE_IMPACT:
        row.impact = Impact.NONE
    return row


def read_update(fields: Fields) -> UpdateRow:
    row_id = fields.identifier()
    fields.where += f" (id {row_id})"
    created = fields.moment("created_at")
    return UpdateRow(
        id=row_id,
        status=fields.text("status"),
        body=fields.text("body", required=False),
        created_at=created,  # type: ignore[arg-type]
        updated_at=fields.moment("updated_at", required=False) or created,  # type: ignore[arg-type]
        display_at=fields.moment("display_at", required=False) or created,  # type: ignore[arg-type]
        affected_components=read_affected(fields),
        deliver_notifications=fields.flag("deliver_notifications", True),
    )


def read_affected(fields: Fields) -> list[dict] | None:
    if fields.data.get("affected_components") is None:
        return None
    affected = []
    for index, item in enumerate(fields.objects("affected_components")):
        entry = Fields(item, f"{fields.where}.affected_components[{index}]", fields.problems)
        affected.append(
            {
                "code": entry.text("code", max_length=64),
                "name": entry.text("name", required=False),
                "old_status": entry.choice("old_status", COMPONENT_STATUSES),
                "new_status": entry.choice("new_status", COMPONENT_STATUSES),
            }
        )
    return affected


def read_postmortem(fields: Fields, incident_id: str) -> UpdateRow | None:
    """Statuspage's postmortem (`postmortem_body`, once published) as our postmortem update."""
    published = fields.moment("postmortem_published_at", required=False)
    body = fields.text("postmortem_body", required=False)
    if published is None or not body.strip():
        return None
    edited = fields.moment("postmortem_body_last_updated_at", required=False) or published
    return UpdateRow(
        id=f"{incident_id}-postmortem",
        status="postmortem",
        body=body,
        created_at=published,
        updated_at=edited,
        display_at=published,
        affected_components=None,
        deliver_notifications=bool(fields.data.get("postmortem_notified_subscribers")),
    )


def keep_newer(rows: dict, row) -> None:
    """Keep the newer copy of a row found in two documents (summary.json and incidents.json
    both list an open incident); an incident keeps every update either copy has."""
    if not row.id:
        return
    old = rows.get(row.id)
    if old is None or not (row.updated_at and old.updated_at) or row.updated_at >= old.updated_at:
        if isinstance(row, IncidentRow) and old is not None:
            known = {u.id for u in row.updates}
            row.updates += [u for u in old.updates if u.id not in known]
        rows[row.id] = row
    elif isinstance(row, IncidentRow):
        known = {u.id for u in old.updates}
        old.updates += [u for u in row.updates if u.id not in known]
