"""The incident lifecycle driven by probe verdicts and by staff.

A confirmed failure opens one incident for the component (or joins the one already open),
recovery moves it to monitoring, a relapse back to investigating, and staff (or, by setting,
a stable period) resolve it. Opening chooses an escalation policy and lets the clock fire
the steps due at once; everything after that is the clock's, or staff's, to publish.
An auto-opened incident whose probe recovers before any public step fired was a false
alarm: it is closed quietly with an internal note and never announced.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef

from incidents.messages import render_message
from incidents.models import (
    IMPACT_FOR_STATUS,
    AckVia,
    AffectedComponent,
    AuditEvent,
    Incident,
    IncidentStatus,
    IncidentUpdate,
    InvalidTransition,
)
from incidents.response import audit, clock
from incidents.response.maintenance import is_under_maintenance
from incidents.response.policies import assign_policy
from incidents.response.publishing import publish_to_told, tell_the_newly_allowed
from incidents.response.timeline import add_update, change_component, context_for, next_update_by
from statuspage.models import Audience, Component, ComponentStatus, Probe, ProbeState, Verdict

log = logging.getLogger(__name__)

MAX_HOLD = timedelta(minutes=120)


def handle_verdict(probe: Probe, verdict: str, now: datetime) -> Incident | None:
    if verdict == Verdict.CONFIRMED_DOWN:
        if is_under_maintenance(probe.component, now):
            log.info("%s failed during its maintenance window: no incident", probe)
            return None
        return open_for_probe(probe, now)
    if verdict == Verdict.CONFIRMED_UP:
        return recover_for_probe(probe, now)
    return None


def open_incident_for(component: Component) -> Incident | None:
    return component.incidents.incidents().unresolved().order_by("detected_at").first()


def open_for_probe(probe: Probe, now: datetime) -> Incident | None:
    """The component's open incident, or a new one; None only if a concurrent one that made
    the insert fail is no longer open when we look it up."""
    component = probe.component
    existing = open_incident_for(component)
    if existing is not None:
        return relapse_if_recovering(existing, probe, now)
    try:
        with transaction.atomic():
            incident = create_probe_incident(probe, component, now)
    except IntegrityError:
        log.info("incident for %s was opened concurrently; joining it", component)
        return open_incident_for(component)
    clock.advance(incident, now)
    return incident


def create_probe_incident(probe: Probe, component: Component, now: datetime) -> Incident:
    status = probe.confirmed_outage_status
    incident = Incident(
        impact=IMPACT_FOR_STATUS[status],
        origin_probe=probe,
        origin_component=component,
        started_at=probe.first_failure_at or now,
        detected_at=now,
        created_at=now,
        updated_at=now,
    )
    incident.name = render_message("page", "opened", {"component": component}, "name")
    incident.save()
    AffectedComponent.objects.create(incident=incident, component=component, status=status)
    incident.inherit_privacy()
    assign_policy(incident)
    # The component's status changes on the page when the incident is published.
    change = {
        "code": component.public_id,
        "name": component.name,
        "old_status": component.status,
        "new_status": status,
    }
    next_by = next_update_by(incident, now)
    body = render_message(
        "page", "opened", context_for(incident, component, probe=probe, next_by=next_by)
    )
    add_update(incident, IncidentUpdate.Kind.OPENED, body, now, [change], next_by=next_by)
    audit.record(
        incident,
        None,
        "opened by probe",
        now,
        after=audit.snapshot(incident),
        reason=f"{probe}: outage confirmed",
    )
    return incident


def relapse_if_recovering(incident: Incident, probe: Probe, now: datetime) -> Incident:
    component = probe.component
    change = (
        change_component(component, probe.confirmed_outage_status)
        if incident.published_at
        else None
    )
    if incident.status == IncidentStatus.MONITORING:
        incident.transition_to(IncidentStatus.INVESTIGATING, now)
        incident.save()
        body = render_message("page", "relapsed", context_for(incident, component))
        update = add_update(
            incident,
            IncidentUpdate.Kind.RELAPSED,
            body,
            now,
            [change] if change else None,
            next_by=next_update_by(incident, now),
        )
        publish_to_told(update, now)
    return incident


def probe_evidence(incident: Incident) -> dict | None:
    """What the probe that opened this incident saw: first failure, error samples, latency."""
    probe = incident.origin_probe
    return {"probe": probe.name, "kind": probe.kind, **probe.evidence} if probe else None


def component_still_failing(component: Component) -> bool:
    return component.probes.filter(enabled=True, state=ProbeState.DOWN).exists()


def recover_for_probe(probe: Probe, now: datetime) -> Incident | None:
    component = probe.component
    if component_still_failing(component):
        return None
    incident = open_incident_for(component)
    if incident is not None and incident.published_at is None:
        return close_false_alarm(incident, now)
    change = change_component(component, ComponentStatus.OPERATIONAL)
    if incident is None or incident.status == IncidentStatus.MONITORING:
        return incident
    incident.transition_to(IncidentStatus.MONITORING, now)
    incident.save()
    body = render_message("page", "recovering", context_for(incident, component))
    update = add_update(
        incident,
        IncidentUpdate.Kind.RECOVERING,
        body,
        now,
        [change] if change else None,
        next_by=next_update_by(incident, now),
    )
    publish_to_told(update, now)
    return incident


def close_false_alarm(incident: Incident, now: datetime) -> Incident:
    """The probe recovered before anything public fired: close it, tell no one but staff."""
    with transaction.atomic():
        before = audit.snapshot(incident)
        incident.transition_to(IncidentStatus.RESOLVED, now)
        incident.origin_component = None
        incident.false_alarm = True
        incident.save()
        body = render_message(
            "page", IncidentUpdate.Kind.NOTE, context_for(incident, false_alarm=True)
        )
        add_update(incident, IncidentUpdate.Kind.NOTE, body, now, internal=True)
        audit.record(
            incident,
            None,
            "closed quietly as a false alarm",
            now,
            before,
            audit.snapshot(incident),
            reason="the probe recovered before any public step",
        )
    return incident


def resolve(
    incident: Incident, now: datetime, author=None, body: str = "", deliver: bool = True
) -> IncidentUpdate:
    """Close the incident, put its components back, and tell everyone who was told."""
    with transaction.atomic():
        before = audit.snapshot(incident)
        incident.transition_to(IncidentStatus.RESOLVED, now)
        incident.origin_component = None
        incident.save()
        components = list(incident.components.all())
        changes = [
            c for c in (change_component(x, ComponentStatus.OPERATIONAL) for x in components) if c
        ]
        text = body or render_message("page", "resolved", context_for(incident))
        update = add_update(
            incident,
            IncidentUpdate.Kind.RESOLVED,
            text,
            now,
            changes or None,
            author=author,
            deliver=deliver,
        )
        publish_to_told(update, now)
        audit.record(incident, author, "resolved", now, before, audit.snapshot(incident))
    return update


def auto_resolve_due(now: datetime) -> int:
    """Resolve incidents that stayed recovered for their period (Incident.auto_resolve_period:
    the policy's for a probe-opened incident no person acted on, else the site-wide
    AUTO_RESOLVE_AFTER_SECONDS); everyone who was told hears the resolution."""
    site_wide = timedelta(seconds=settings.STATUSPAGE["AUTO_RESOLVE_AFTER_SECONDS"])
    staff = AuditEvent.objects.filter(incident=OuterRef("pk"), actor__isnull=False)
    monitoring = (
        Incident.objects.incidents()
        .opened_here()
        .filter(status=IncidentStatus.MONITORING)
        .select_related("policy")
        .annotate(staff_acted=Exists(staff))
    )
    resolved = 0
    for incident in monitoring:
        period = incident.auto_resolve_period(site_wide, incident.staff_acted)
        if incident.is_due_for_auto_resolve(now, period):
            resolve(incident, now)
            resolved += 1
    return resolved


# --- Staff --------------------------------------------------------------------------------


def open_by_staff(
    name: str,
    body: str,
    impact: str,
    components: dict[Component, str],
    author,
    now: datetime,
    status: str = IncidentStatus.INVESTIGATING,
    deliver: bool = True,
    private_to: Iterable[Audience] = (),
) -> Incident:
    """A person opened it: it is published at once (to the public, or only to the audiences
    it is private to), and its policy's clock starts now."""
    if status not in (
        IncidentStatus.INVESTIGATING,
        IncidentStatus.IDENTIFIED,
        IncidentStatus.MONITORING,
    ):
        raise InvalidTransition(f"A new incident cannot start as {status}.")
    with transaction.atomic():
        incident = Incident.objects.create(
            name=name,
            status=status,
            impact=impact,
            started_at=now,
            detected_at=now,
            published_at=now,
            created_at=now,
            updated_at=now,
        )
        changes = []
        for component, component_status in components.items():
            AffectedComponent.objects.create(
                incident=incident, component=component, status=component_status
            )
            change = change_component(component, component_status)
            if change:
                changes.append(change)
        incident.make_private_to(private_to)
        assign_policy(incident)
        add_update(
            incident,
            IncidentUpdate.Kind.OPENED,
            body,
            now,
            changes or None,
            author=author,
            deliver=deliver,
            next_by=next_update_by(incident, now),
        )
        audit.record(incident, author, "opened", now, after=audit.snapshot(incident))
    clock.advance(incident, now)
    return incident


def post_update(
    incident: Incident,
    body: str,
    author,
    now: datetime,
    status: str | None = None,
    impact: str | None = None,
    components: dict[Component, str] | None = None,
    deliver: bool = True,
    next_by: datetime | None = None,
) -> IncidentUpdate:
    """Post once, reach everyone: one update, announced to everyone told so far."""
    status = status or incident.status
    if status == IncidentStatus.RESOLVED:
        if impact:
            incident.impact = impact
        return resolve(incident, now, author=author, body=body, deliver=deliver)
    with transaction.atomic():
        before = audit.snapshot(incident)
        if status != incident.status:
            incident.transition_to(status, now)
        if impact:
            incident.impact = impact
        incident.updated_at = now
        incident.save()
        changes = set_components(incident, components or {})
        if incident.published_at is None:
            incident.published_at = now
            incident.save(update_fields=["published_at"])
        update = add_update(
            incident,
            IncidentUpdate.Kind.UPDATE,
            body,
            now,
            changes or None,
            author=author,
            deliver=deliver,
            next_by=next_by or next_update_by(incident, now),
        )
        publish_to_told(update, now)
        audit.record(
            incident,
            author,
            "posted an update",
            now,
            before,
            audit.snapshot(incident),
            reason=body[:500],
        )
    return update


def set_components(incident: Incident, components: dict[Component, str]) -> list[dict]:
    changes = []
    for component, status in components.items():
        AffectedComponent.objects.update_or_create(
            incident=incident, component=component, defaults={"status": status}
        )
        change = change_component(component, status)
        if change:
            changes.append(change)
    return changes


def acknowledge(
    incident: Incident, user, now: datetime, via: str = AckVia.CONSOLE, contact: str = ""
) -> bool:
    """Stop paging (the public cadence goes on); False if it was already acknowledged.
    Staff acknowledge in the console (`user`); an on-call contact from the page (`via`,
    `contact`: incidents.response.acks). The first one wins, by a conditional UPDATE."""
    before = audit.snapshot(incident)
    won = Incident.objects.filter(id=incident.id, acknowledged_at__isnull=True).update(
        acknowledged_at=now,
        acknowledged_by=user if getattr(user, "is_authenticated", False) else None,
        acknowledged_via=via,
        acknowledged_contact=contact[:200],
    )
    if won:
        incident.refresh_from_db()
        audit.record(
            incident,
            user,
            "acknowledged",
            now,
            before,
            audit.snapshot(incident),
            via=via,
            contact=contact or str(user or ""),
        )
    else:
        incident.refresh_from_db()
    return bool(won)


def change_privacy(
    incident: Incident, audiences: Iterable[Audience], author, now: datetime
) -> None:
    """Private to these audiences from now on (`Incident.make_private_to`), audited; its
    later updates reach only those still allowed to hear of it (`publishing.still_told`).
    Made public, or private to more audiences, it tells the newly allowed its latest update
    (`publishing.tell_the_newly_allowed`)."""
    before = sorted(incident.private_to.values_list("slug", flat=True))
    with transaction.atomic():
        incident.make_private_to(audiences)
        after = sorted(incident.private_to.values_list("slug", flat=True))
        if before == after:
            return
        audit.record(
            incident, author, "privacy changed", now, {"private_to": before}, {"private_to": after}
        )
        if before and (not after or not set(after) <= set(before)):
            tell_the_newly_allowed(incident, now)


def hold(incident: Incident, user, minutes: int, reason: str, now: datetime) -> None:
    """Pause public steps for up to MAX_HOLD; paging goes on. The reason is audited."""
    if not reason.strip():
        raise InvalidTransition("Say why the public updates are held.")
    if not 1 <= minutes <= MAX_HOLD.total_seconds() // 60:
        raise InvalidTransition(f"A hold lasts 1 to {int(MAX_HOLD.total_seconds() // 60)} minutes.")
    if not incident.is_open:
        raise InvalidTransition("Only an open incident can be held.")
    before = audit.snapshot(incident)
    incident.held_until = now + timedelta(minutes=minutes)
    incident.save(update_fields=["held_until"])
    audit.record(
        incident, user, "held public updates", now, before, audit.snapshot(incident), reason=reason
    )


def release_hold(incident: Incident, user, now: datetime) -> None:
    before = audit.snapshot(incident)
    incident.held_until = None
    incident.save(update_fields=["held_until"])
    audit.record(incident, user, "released the hold", now, before, audit.snapshot(incident))


def publish_postmortem(
    incident: Incident, body: str, author, now: datetime, deliver: bool = False
) -> IncidentUpdate:
    """What happened and what will change: the last word on a resolved incident."""
    if len(body.strip()) < 20:
        raise InvalidTransition("A postmortem says what happened and what will change.")
    with transaction.atomic():
        before = audit.snapshot(incident)
        incident.transition_to(IncidentStatus.POSTMORTEM, now)
        incident.save()
        text = render_message("page", "postmortem", {**context_for(incident), "body": body.strip()})
        update = add_update(
            incident, IncidentUpdate.Kind.POSTMORTEM, text, now, author=author, deliver=deliver
        )
        publish_to_told(update, now)
        audit.record(
            incident, author, "published the postmortem", now, before, audit.snapshot(incident)
        )
    return update
