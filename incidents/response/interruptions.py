"""When our own monitoring stops, page on-call staff through the outbox, and say when it is back.

`page` is an ENGINE["ONCALL_PAGERS"] hook: `statuspage.picture.monitoring` calls it once when an
interruption is noticed (by the web process or `manage.py watchdog`, whichever claims the
alarm first) and once when the engine completes a cycle again. The outbox announces
incident updates, so each interruption is an internal record, an Incident of kind
"monitoring": never published, never escalated by the clock, kept as the history of when
monitoring was down. Its two updates, "monitoring_interrupted" and "monitoring_restored",
go to on-call staff (Recipients.ONCALL) on ENGINE["INTERRUPTION_CHANNELS"], worded in
templates/messages/<channel>/monitoring_*.txt like every other message.

One probe nobody checks (`statuspage.picture.silence`, a `ProbeSilence`) takes the same path:
its own record, an interruption whose `origin_probe` is that probe, so the whole site's
"restored" never closes it, and the same two kinds of update, worded for the probe.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.conf import settings
from django.db import transaction

from incidents.messages import render_message
from incidents.models import Impact, Incident, IncidentStatus, IncidentUpdate
from incidents.response.oncall import current_contacts
from incidents.response.publishing import publish
from incidents.response.timeline import add_update
from notifiers.models import Recipients
from statuspage.picture.silence import ProbeSilence

log = logging.getLogger(__name__)


def page(state, now: datetime) -> Incident | None:
    """Tell on-call staff that monitoring stopped (state.interrupted) or came back, for the
    whole site or (a ProbeSilence) for one probe."""
    with transaction.atomic():
        if isinstance(state, ProbeSilence):
            return probe_silent(state, now) if state.interrupted else probe_heard(state, now)
        if state.interrupted:
            return interrupted(state, now)
        return restored(now)


def context(incident: Incident, now: datetime, **extra) -> dict:
    return {
        "incident": incident,
        "now": now,
        "page_name": settings.STATUSPAGE["NAME"],
        "console_url": f"{settings.STATUSPAGE['URL']}/manage/",
        **extra,
    }


def announce_to_oncall(incident: Incident, kind: str, now: datetime, **extra) -> IncidentUpdate:
    body = render_message("page", kind, context(incident, now, **extra))
    update = add_update(incident, kind, body, now, internal=True)
    outcome = publish(update, Recipients.ONCALL, settings.ENGINE["INTERRUPTION_CHANNELS"], now)
    if outcome.unavailable:
        log.error("monitoring %s: %s", kind, outcome.note())
    if not current_contacts():
        log.error("monitoring %s: no one is on call to page; add active contacts", kind)
    return update


def interrupted(state, now: datetime, probe=None) -> Incident:
    since = state.since or now
    incident = Incident(
        kind=Incident.Kind.MONITORING,
        origin_probe=probe,
        impact=Impact.NONE,
        started_at=since,
        detected_at=now,
        created_at=now,
        updated_at=now,
    )
    incident.name = render_message(
        "page", "monitoring_interrupted", context(incident, now), "name"
    )[:200]
    incident.save()
    announce_to_oncall(incident, IncidentUpdate.Kind.MONITORING_INTERRUPTED, now)
    return incident


def restored(now: datetime) -> Incident | None:
    """Close the open interruption record (if one paged anybody) and say so, once."""
    whole_site = Incident.objects.interruptions().filter(origin_probe__isnull=True)
    incident = whole_site.unresolved().select_for_update().first()
    if incident is None:
        return None
    incident.transition_to(IncidentStatus.RESOLVED, now)
    incident.save()
    announce_to_oncall(incident, IncidentUpdate.Kind.MONITORING_RESTORED, now)
    return incident


def probe_silent(state: ProbeSilence, now: datetime) -> Incident:
    return interrupted(state, now, probe=state.probe)


def probe_heard(state: ProbeSilence, now: datetime) -> Incident | None:
    """Close the probe's open silence record and say whether it is checked again or no
    longer expected to be (disabled, under maintenance), once."""
    incident = (
        Incident.objects.interruptions()
        .filter(origin_probe=state.probe)
        .unresolved()
        .select_for_update()
        .first()
    )
    if incident is None:
        return None
    incident.transition_to(IncidentStatus.RESOLVED, now)
    incident.save()
    announce_to_oncall(
        incident, IncidentUpdate.Kind.MONITORING_RESTORED, now, checked_at=state.checked_at
    )
    return incident
