"""Who is on call, and who each page went to.

Notifier channels read who is on call now through `on_call_now()` (NOTIFIERS_ONCALL_PROVIDER)
and the people a page was recorded for through `paged_contacts()`
(NOTIFIERS_ONCALL_PAGED_PROVIDER). With no schedule configured the flat roster of active
contacts is who is on call.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction

from incidents.models import (
    IncidentUpdate,
    OnCallContact,
    PagedContact,
    Schedule,
    ScheduleOverride,
)
from incidents.response import audit
from statuspage import clock


def current_contacts() -> list[OnCallContact]:
    """Active contacts in roster order; each has name, phone (E.164 or '') and email."""
    return list(OnCallContact.objects.filter(active=True))


def on_call_now() -> list[OnCallContact]:
    """Who a page with no recorded people reaches (monitoring stopped, the task queue
    stalled): the person on call in each schedule now; the roster's active contacts when
    no schedule is configured or every schedule has a gap, so a page never reaches nobody
    while anyone is active."""
    return scheduled_people(clock.now()) or current_contacts()


def scheduled_people(moment: datetime) -> list[OnCallContact] | None:
    """The person on call in each schedule at `moment`; None when there is no schedule."""
    schedules = list(Schedule.objects.for_reading())
    if not schedules:
        return None
    people = [schedule.on_call_at(moment) for schedule in schedules]
    return list({p.pk: p for p in people if p is not None}.values())


def on_call_summary(now: datetime) -> list[dict]:
    """Per schedule: who is on call now, and when the next hand-off is and to whom (the
    console's panel). Without schedules, the roster's active contacts are on call."""
    rows = []
    for schedule in Schedule.objects.for_reading(since=now):
        upcoming = schedule.next_hand_off(now)
        rows.append(
            {
                "schedule": schedule,
                "now": schedule.on_call_at(now),
                "next_at": upcoming[0] if upcoming else None,
                "next": upcoming[1] if upcoming else None,
            }
        )
    return rows


def on_call_panel(now: datetime) -> dict:
    """The dashboard's "On call" panel: the schedules, or the flat roster without any."""
    rows = on_call_summary(now)
    return {"rows": rows, "roster": [] if rows else current_contacts()}


def add_override(
    schedule: Schedule, contact: OnCallContact, starts_at: datetime, ends_at: datetime, actor, now
) -> ScheduleOverride:
    """ "Ana covers Saturday": validated (ValidationError says what is wrong) and audited."""
    override = ScheduleOverride(
        schedule=schedule,
        contact=contact,
        starts_at=starts_at,
        ends_at=ends_at,
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    override.full_clean()
    with transaction.atomic():
        override.save()
        audit.record(None, actor, "oncall_override_added", now, after=override_facts(override))
    return override


def remove_override(override: ScheduleOverride, actor, now) -> None:
    with transaction.atomic():
        audit.record(None, actor, "oncall_override_removed", now, before=override_facts(override))
        override.delete()


def override_facts(override: ScheduleOverride) -> dict:
    return {
        "schedule": override.schedule.name,
        "contact": override.contact.name,
        "starts_at": override.starts_at.isoformat(),
        "ends_at": override.ends_at.isoformat(),
    }


def record_page(update: IncidentUpdate, people: list, level: int = 0) -> list[PagedContact]:
    """Fix who this page goes to, in the transaction that fires it."""
    return PagedContact.objects.bulk_create(
        PagedContact(
            update=update,
            contact=person if isinstance(person, OnCallContact) else None,
            level=level,
            name=str(getattr(person, "name", ""))[:120],
            phone=getattr(person, "phone", "") or "",
            email=getattr(person, "email", "") or "",
        )
        for person in people
    )


def paged_so_far(incident_id: int) -> list[PagedContact]:
    """Everyone paged about the incident, once each (reminders and the resolution go to
    them)."""
    rows = PagedContact.objects.filter(update__incident_id=incident_id).order_by("id")
    unique = {(r.phone, r.email): r for r in reversed(list(rows))}
    return list(reversed(unique.values()))


def paged_contacts(update: IncidentUpdate) -> list[PagedContact] | None:
    """The people recorded for this update, else everyone paged about its incident; None
    when nothing was recorded (the channel then asks the current roster)."""
    own = list(PagedContact.objects.filter(update_id=update.id))
    if own:
        return own
    return paged_so_far(update.incident_id) or None
