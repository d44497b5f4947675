"""The status domain: components in groups, the app audiences they affect, probes and results."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from statuspage import clock


class ComponentStatus(models.TextChoices):
    OPERATIONAL = "operational", _("Operational")
    DEGRADED_PERFORMANCE = "degraded_performance", _("Degraded performance")
    PARTIAL_OUTAGE = "partial_outage", _("Partial outage")
    MAJOR_OUTAGE = "major_outage", _("Major outage")
    UNDER_MAINTENANCE = "under_maintenance", _("Under maintenance")


# Worst first is highest: used to roll several statuses up into one.
STATUS_SEVERITY = {
    ComponentStatus.OPERATIONAL: 0,
    ComponentStatus.UNDER_MAINTENANCE: 1,
    ComponentStatus.DEGRADED_PERFORMANCE: 2,
    ComponentStatus.PARTIAL_OUTAGE: 3,
    ComponentStatus.MAJOR_OUTAGE: 4,
}


def worst_status(statuses) -> str:
    return max(statuses, key=lambda s: STATUS_SEVERITY[s], default=ComponentStatus.OPERATIONAL)


def new_public_id() -> str:
    return uuid.uuid4().hex[:12]


class ComponentGroup(models.Model):
    public_id = models.CharField(max_length=32, unique=True, default=new_public_id, editable=False)
    name = models.CharField(max_length=120, unique=True)
    description = models.TextField(blank=True)
    position = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "name"]

    def __str__(self) -> str:
        return self.name


topic_validator = RegexValidator(
    r"^[a-zA-Z0-9\-_.~%]+$", _("Use letters, digits and - _ . ~ % only (FCM topic rules).")
)


class Audience(models.Model):
    """The users of one of the company's apps: they see its banner and get its pushes."""

    slug = models.SlugField(max_length=60, unique=True)
    name = models.CharField(max_length=120)
    push_topic = models.CharField(max_length=200, validators=[topic_validator])

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Component(models.Model):
    public_id = models.CharField(max_length=32, unique=True, default=new_public_id, editable=False)
    name = models.CharField(max_length=120, unique=True)
    description = models.TextField(blank=True)
    group = models.ForeignKey(
        ComponentGroup, null=True, blank=True, on_delete=models.SET_NULL, related_name="components"
    )
    status = models.CharField(
        max_length=24, choices=ComponentStatus.choices, default=ComponentStatus.OPERATIONAL
    )
    position = models.PositiveIntegerField(default=0)
    showcase = models.BooleanField(default=True)
    only_show_if_degraded = models.BooleanField(default=False)
    advice = models.TextField(
        blank=True,
        help_text=_("What to do now while this component is down (the backup plan)."),
    )
    audiences = models.ManyToManyField(
        Audience,
        blank=True,
        related_name="components",
        help_text=_("The apps whose users are affected when this component fails."),
    )
    start_date = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["group__position", "position", "name"]

    def __str__(self) -> str:
        return self.name

    def set_status(self, status: str) -> bool:
        """Store a new status and log the change (uptime history); returns whether it changed."""
        if self.status == status:
            return False
        old, self.status = self.status, status
        self.save(update_fields=["status", "updated_at"])
        ComponentStatusChange.objects.create(
            component=self, old_status=old, new_status=status, changed_at=clock.now()
        )
        return True


class ProbeState(models.TextChoices):
    UNKNOWN = "unknown", _("Unknown")
    UP = "up", _("Up")
    DOWN = "down", _("Down")


class Verdict(models.TextChoices):
    """What a run changed about a probe's confirmed state."""

    NONE = "", _("No change")
    CONFIRMED_DOWN = "confirmed_down", _("Outage confirmed")
    CONFIRMED_UP = "confirmed_up", _("Recovery confirmed")


@dataclass(frozen=True)
class CheckOutcome:
    ok: bool
    latency_ms: float
    status_code: int | None = None
    error: str = ""


class Probe(models.Model):
    class Kind(models.TextChoices):
        HTTP = "http", _("HTTP")

    component = models.ForeignKey(Component, on_delete=models.CASCADE, related_name="probes")
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.HTTP)
    url = models.URLField(max_length=500)
    method = models.CharField(max_length=8, default="GET")
    interval_seconds = models.PositiveIntegerField(
        default=30, validators=[MinValueValidator(10), MaxValueValidator(86400)]
    )
    timeout_seconds = models.FloatField(
        default=10, validators=[MinValueValidator(0.5), MaxValueValidator(120)]
    )
    expected_status = models.PositiveSmallIntegerField(
        default=200, validators=[MinValueValidator(100), MaxValueValidator(599)]
    )
    failures_to_confirm = models.PositiveSmallIntegerField(
        default=2, validators=[MinValueValidator(1), MaxValueValidator(100)]
    )
    successes_to_confirm = models.PositiveSmallIntegerField(
        default=2, validators=[MinValueValidator(1), MaxValueValidator(100)]
    )
    outage_status = models.CharField(
        max_length=24,
        choices=[
            (ComponentStatus.DEGRADED_PERFORMANCE, ComponentStatus.DEGRADED_PERFORMANCE.label),
            (ComponentStatus.PARTIAL_OUTAGE, ComponentStatus.PARTIAL_OUTAGE.label),
            (ComponentStatus.MAJOR_OUTAGE, ComponentStatus.MAJOR_OUTAGE.label),
        ],
        default=ComponentStatus.MAJOR_OUTAGE,
        help_text=_("The component's status while this probe confirms a failure."),
    )
    enabled = models.BooleanField(default=True)

    state = models.CharField(max_length=8, choices=ProbeState.choices, default=ProbeState.UNKNOWN)
    consecutive_failures = models.PositiveIntegerField(default=0)
    consecutive_successes = models.PositiveIntegerField(default=0)
    first_failure_at = models.DateTimeField(null=True, blank=True)
    last_checked_at = models.DateTimeField(null=True, blank=True)
    next_run_at = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["component", "name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(interval_seconds__gte=10), name="probe_interval_at_least_10s"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.component}: {self.name}"

    @property
    def interval(self) -> timedelta:
        return timedelta(seconds=self.interval_seconds)

    def is_due(self, now: datetime) -> bool:
        return self.enabled and (self.next_run_at is None or self.next_run_at <= now)

    def next_run_after(self, now: datetime) -> datetime:
        """Keep the cadence anchored to the schedule, but never schedule into the past."""
        if self.next_run_at is None:
            return now + self.interval
        candidate = self.next_run_at + self.interval
        return candidate if candidate > now else now + self.interval

    def apply_outcome(self, outcome: CheckOutcome, now: datetime) -> Verdict:
        """Count consecutive results; confirm an outage or a recovery when the count is reached."""
        self.last_checked_at = now
        if outcome.ok:
            self.consecutive_successes += 1
            self.consecutive_failures = 0
            if self.state != ProbeState.UP and self.consecutive_successes >= self.successes_to_confirm:
                was_down = self.state == ProbeState.DOWN
                self.state = ProbeState.UP
                self.first_failure_at = None
                return Verdict.CONFIRMED_UP if was_down else Verdict.NONE
            return Verdict.NONE
        self.consecutive_failures += 1
        self.consecutive_successes = 0
        if self.first_failure_at is None:
            self.first_failure_at = now
        if self.state != ProbeState.DOWN and self.consecutive_failures >= self.failures_to_confirm:
            self.state = ProbeState.DOWN
            return Verdict.CONFIRMED_DOWN
        return Verdict.NONE


class CheckResult(models.Model):
    probe = models.ForeignKey(Probe, on_delete=models.CASCADE, related_name="results")
    checked_at = models.DateTimeField()
    ok = models.BooleanField()
    latency_ms = models.FloatField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-checked_at"]
        indexes = [models.Index(fields=["probe", "-checked_at"], name="result_probe_time")]

    def __str__(self) -> str:
        return f"{self.probe} at {self.checked_at:%H:%M:%S}: {'ok' if self.ok else self.error}"


class ComponentStatusChange(models.Model):
    """Every change of a component's status: the raw history behind the uptime bars."""

    component = models.ForeignKey(Component, on_delete=models.CASCADE, related_name="changes")
    old_status = models.CharField(max_length=24, choices=ComponentStatus.choices)
    new_status = models.CharField(max_length=24, choices=ComponentStatus.choices)
    changed_at = models.DateTimeField()

    class Meta:
        ordering = ["changed_at", "id"]
        indexes = [models.Index(fields=["component", "changed_at"], name="change_component_time")]

    def __str__(self) -> str:
        return f"{self.component}: {self.old_status} -> {self.new_status}"


class ComponentDay(models.Model):
    """One component's day, rolled up from its status history so the page reads 90 rows,
    never the raw log. Downtime counts major outage fully and partial outage in part."""

    component = models.ForeignKey(Component, on_delete=models.CASCADE, related_name="days")
    day = models.DateField()
    worst_status = models.CharField(max_length=24, choices=ComponentStatus.choices)
    observed_seconds = models.FloatField()
    down_seconds = models.FloatField()
    # [{"id": incident public id, "name": ...}] for incidents touching the component that day.
    incidents = models.JSONField(default=list)
    computed_at = models.DateTimeField()

    class Meta:
        ordering = ["component", "day"]
        constraints = [
            models.UniqueConstraint(fields=["component", "day"], name="one_rollup_per_day"),
        ]

    def __str__(self) -> str:
        return f"{self.component} on {self.day}: {self.worst_status}"

    @property
    def uptime(self) -> float | None:
        if self.observed_seconds <= 0:
            return None
        return 100.0 * max(0.0, 1.0 - self.down_seconds / self.observed_seconds)
