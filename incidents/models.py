"""Incidents, the components they affect, and their timeline of updates."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from statuspage.models import Component, ComponentStatus, Probe, new_public_id


class InvalidTransition(Exception):
    """A status change the incident lifecycle does not allow."""


class IncidentStatus(models.TextChoices):
    INVESTIGATING = "investigating", _("Investigating")
    IDENTIFIED = "identified", _("Identified")
    MONITORING = "monitoring", _("Monitoring")
    RESOLVED = "resolved", _("Resolved")
    POSTMORTEM = "postmortem", _("Postmortem")


class Impact(models.TextChoices):
    NONE = "none", _("None")
    MINOR = "minor", _("Minor")
    MAJOR = "major", _("Major")
    CRITICAL = "critical", _("Critical")


OPEN_STATUSES = (IncidentStatus.INVESTIGATING, IncidentStatus.IDENTIFIED, IncidentStatus.MONITORING)

TRANSITIONS: dict[str, set[str]] = {
    IncidentStatus.INVESTIGATING: {
        IncidentStatus.IDENTIFIED,
        IncidentStatus.MONITORING,
        IncidentStatus.RESOLVED,
    },
    IncidentStatus.IDENTIFIED: {
        IncidentStatus.INVESTIGATING,
        IncidentStatus.MONITORING,
        IncidentStatus.RESOLVED,
    },
    IncidentStatus.MONITORING: {
        IncidentStatus.INVESTIGATING,
        IncidentStatus.IDENTIFIED,
        IncidentStatus.RESOLVED,
    },
    IncidentStatus.RESOLVED: {IncidentStatus.POSTMORTEM},
    IncidentStatus.POSTMORTEM: set(),
}

# The impact an incident has when its worst component is in this status.
IMPACT_FOR_STATUS = {
    ComponentStatus.OPERATIONAL: Impact.NONE,
    ComponentStatus.UNDER_MAINTENANCE: Impact.NONE,
    ComponentStatus.DEGRADED_PERFORMANCE: Impact.MINOR,
    ComponentStatus.PARTIAL_OUTAGE: Impact.MAJOR,
    ComponentStatus.MAJOR_OUTAGE: Impact.CRITICAL,
}


class IncidentQuerySet(models.QuerySet):
    def unresolved(self) -> IncidentQuerySet:
        return self.filter(status__in=OPEN_STATUSES)


class Incident(models.Model):
    public_id = models.CharField(max_length=32, unique=True, default=new_public_id, editable=False)
    name = models.CharField(max_length=200)
    status = models.CharField(
        max_length=16, choices=IncidentStatus.choices, default=IncidentStatus.INVESTIGATING
    )
    impact = models.CharField(max_length=10, choices=Impact.choices, default=Impact.MINOR)
    components = models.ManyToManyField(
        Component, through="AffectedComponent", related_name="incidents"
    )
    origin_probe = models.ForeignKey(
        Probe, null=True, blank=True, on_delete=models.SET_NULL, related_name="incidents"
    )
    # Set while a probe-opened incident is open: a database guard that a component's probe
    # never opens a second incident while one it opened is still unresolved.
    origin_component = models.ForeignKey(
        Component, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # When impact began (the first failed check) and when it was confirmed.
    started_at = models.DateTimeField()
    detected_at = models.DateTimeField()
    identified_at = models.DateTimeField(null=True, blank=True)
    monitoring_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    objects = IncidentQuerySet.as_manager()

    class Meta:
        ordering = ["-detected_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["origin_component"],
                condition=models.Q(resolved_at__isnull=True, origin_component__isnull=False),
                name="one_open_probe_incident_per_component",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def can_transition_to(self, status: str) -> bool:
        return status in TRANSITIONS[self.status]

    def transition_to(self, status: str, now: datetime) -> None:
        """Move along the lifecycle, stamping the time of each milestone."""
        if not self.can_transition_to(status):
            raise InvalidTransition(
                _("An incident that is %(old)s cannot become %(new)s.")
                % {"old": self.get_status_display(), "new": IncidentStatus(status).label}
            )
        self.status = status
        self.updated_at = now
        if status == IncidentStatus.IDENTIFIED and self.identified_at is None:
            self.identified_at = now
        elif status == IncidentStatus.MONITORING:
            self.monitoring_at = now
        elif status == IncidentStatus.INVESTIGATING:
            self.monitoring_at = None
        elif status == IncidentStatus.RESOLVED:
            self.resolved_at = now

    def is_due_for_auto_resolve(self, now: datetime, stable_for: timedelta) -> bool:
        return (
            stable_for > timedelta(0)
            and self.status == IncidentStatus.MONITORING
            and self.monitoring_at is not None
            and now - self.monitoring_at >= stable_for
        )


class AffectedComponent(models.Model):
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="affected")
    component = models.ForeignKey(Component, on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=24, choices=ComponentStatus.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["incident", "component"], name="affected_once"),
        ]


class IncidentUpdate(models.Model):
    class Kind(models.TextChoices):
        OPENED = "opened", _("Opened")
        UPDATE = "update", _("Update")
        RECOVERING = "recovering", _("Recovering")
        RELAPSED = "relapsed", _("Relapsed")
        RESOLVED = "resolved", _("Resolved")

    public_id = models.CharField(max_length=32, unique=True, default=new_public_id, editable=False)
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="updates")
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.UPDATE)
    status = models.CharField(max_length=16, choices=IncidentStatus.choices)
    body = models.TextField()
    # [{"code": component public id, "name", "old_status", "new_status"}], as Statuspage has it.
    affected_components = models.JSONField(null=True, blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    deliver_notifications = models.BooleanField(default=True)
    next_update_by = models.DateTimeField(null=True, blank=True)
    display_at = models.DateTimeField()
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["-display_at", "-id"]

    def __str__(self) -> str:
        return f"{self.incident}: {self.get_status_display()} at {self.display_at:%H:%M}"
