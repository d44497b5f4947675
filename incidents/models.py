"""Incidents, the components they affect, and their timeline of updates."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import IntegrityError, models, transaction
from django.utils.translation import gettext_lazy as _

from notifiers.recipients import Recipients
from statuspage import viewer
from statuspage.inputs import CleanInput
from statuspage.models import (
    Audience,
    Component,
    ComponentStatus,
    Probe,
    imported_once,
    new_public_id,
    visible_to,
)
from statuspage.statuses import choice_label

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


class InvalidTransition(Exception):
    """A status change the incident lifecycle does not allow."""


class IncidentStatus(models.TextChoices):
    INVESTIGATING = "investigating", _("Investigating")
    IDENTIFIED = "identified", _("Identified")
    MONITORING = "monitoring", _("Monitoring")
    RESOLVED = "resolved", _("Resolved")
    POSTMORTEM = "postmortem", _("Postmortem")
    SCHEDULED = "scheduled", _("Scheduled")
    IN_PROGRESS = "in_progress", _("In progress")
    VERIFYING = "verifying", _("Verifying")
    COMPLETED = "completed", _("Completed")


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
    # Scheduled maintenance has its own lifecycle; a scheduled one may be called off.
    IncidentStatus.SCHEDULED: {IncidentStatus.IN_PROGRESS, IncidentStatus.COMPLETED},
    IncidentStatus.IN_PROGRESS: {IncidentStatus.VERIFYING, IncidentStatus.COMPLETED},
    IncidentStatus.VERIFYING: {IncidentStatus.IN_PROGRESS, IncidentStatus.COMPLETED},
    IncidentStatus.COMPLETED: set(),
}

INCIDENT_STATUSES = (*OPEN_STATUSES, IncidentStatus.RESOLVED, IncidentStatus.POSTMORTEM)
MAINTENANCE_STATUSES = (
    IncidentStatus.SCHEDULED,
    IncidentStatus.IN_PROGRESS,
    IncidentStatus.VERIFYING,
    IncidentStatus.COMPLETED,
)
ACTIVE_MAINTENANCE_STATUSES = (IncidentStatus.IN_PROGRESS, IncidentStatus.VERIFYING)

# The impact an incident has when its worst component is in this status.
IMPACT_FOR_STATUS: dict[str, Impact] = {
    ComponentStatus.OPERATIONAL: Impact.NONE,
    ComponentStatus.UNDER_MAINTENANCE: Impact.NONE,
    ComponentStatus.DEGRADED_PERFORMANCE: Impact.MINOR,
    ComponentStatus.PARTIAL_OUTAGE: Impact.MAJOR,
    ComponentStatus.MAJOR_OUTAGE: Impact.CRITICAL,
}


# Short codes: two letters and two digits ("KQ47"), never a word (STOP, HELP...), no I, O,
# 0 or 1 to misread; unique among unresolved incidents, so a code names one when texted.
CODE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"
CODE_DIGITS = "23456789"
SHORT_CODE = r"^[A-Z]{2}[0-9]{2}$"
SHORT_CODE_TRIES = 5


def new_short_code() -> str:
    pick = secrets.choice
    return "".join((pick(CODE_LETTERS), pick(CODE_LETTERS), pick(CODE_DIGITS), pick(CODE_DIGITS)))


class AckVia(models.TextChoices):
    """Where an acknowledgement came from."""

    CONSOLE = "console", _("console")
    SMS = "sms", _("SMS reply")
    VOICE = "voice", _("voice call")
    EMAIL_LINK = "email-link", _("email link")
    SMS_LINK = "sms-link", _("SMS link")


class IncidentQuerySet(models.QuerySet):
    def unresolved(self) -> IncidentQuerySet:
        return self.filter(status__in=OPEN_STATUSES)

    def public(self) -> IncidentQuerySet:
        """What the reader may see: incidents once a public step fired, and all maintenance,
        of those visible to the reader of this request (`shown`: the public by default).

        A probe-opened incident stays internal until its policy publishes it, so a false
        alarm closed quietly before then never appears on the page.
        """
        return self.filter(published_at__isnull=False).shown()

    def visible_to(self, audience: Audience | None) -> IncidentQuerySet:
        """Private incidents only on their audiences' pages (statuspage.models.visible_to)."""
        return self.filter(visible_to(audience, Incident.private_to.through, "incident"))

    def shown(self) -> IncidentQuerySet:
        return self.visible_to(viewer.audience())

    def maintenance(self) -> IncidentQuerySet:
        return self.filter(kind=Incident.Kind.MAINTENANCE)

    def incidents(self) -> IncidentQuerySet:
        return self.filter(kind=Incident.Kind.INCIDENT)

    def interruptions(self) -> IncidentQuerySet:
        return self.filter(kind=Incident.Kind.MONITORING)

    def opened_here(self) -> IncidentQuerySet:
        """Not imported: an imported incident's paging and announcing happened on the page
        it came from, so the escalation clock leaves it to staff."""
        return self.filter(external_id="")


class Incident(CleanInput, models.Model):
    class Kind(models.TextChoices):
        INCIDENT = "incident", _("Incident")
        MAINTENANCE = "maintenance", _("Scheduled maintenance")
        # Staff only: our own monitoring stopped (incidents.response.interruptions); never
        # published,
        # never escalated by the clock; it carries the page and the "restored" message.
        MONITORING = "monitoring", _("Monitoring interruption")

    public_id = models.CharField(max_length=32, unique=True, default=new_public_id, editable=False)
    name = models.CharField(max_length=200)
    status = models.CharField(
        max_length=16, choices=IncidentStatus.choices, default=IncidentStatus.INVESTIGATING
    )
    impact = models.CharField(max_length=10, choices=Impact.choices, default=Impact.MINOR)
    components = models.ManyToManyField(
        Component, through="AffectedComponent", related_name="incidents"
    )
    # Private to these audiences: shown, and announced, only to them ("internal" to them).
    private_to = models.ManyToManyField(
        Audience,
        blank=True,
        related_name="private_incidents",
        help_text=_("Shown and announced only to these audiences; empty: public."),
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

    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.INCIDENT)
    # The escalation policy chosen when the incident opened (component and impact).
    policy = models.ForeignKey(
        "EscalationPolicy", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # When the first public step fired; until then only staff see the incident.
    published_at = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Who acknowledged from a page (an on-call contact has no login) and from where.
    acknowledged_via = models.CharField(max_length=16, choices=AckVia.choices, blank=True)
    acknowledged_contact = models.CharField(max_length=200, blank=True)
    # Texted back to acknowledge ("ACK KQ47"); unique among unresolved incidents.
    short_code = models.CharField(max_length=8, blank=True, editable=False)
    # Public steps wait while held (paging goes on); the reason is in the audit log.
    held_until = models.DateTimeField(null=True, blank=True)
    false_alarm = models.BooleanField(default=False)
    # Scheduled maintenance: its window and when to announce it ahead (minutes before).
    scheduled_for = models.DateTimeField(null=True, blank=True)
    scheduled_until = models.DateTimeField(null=True, blank=True)
    announce_before_minutes = models.JSONField(default=list, blank=True)
    auto_transition = models.BooleanField(
        default=True, help_text=_("Start and complete the maintenance at its times by itself.")
    )
    # The Statuspage id it was imported from (incidents.response.importing); empty: ours.
    external_id = models.CharField(max_length=64, blank=True, default="", editable=False)

    objects = IncidentQuerySet.as_manager()

    class Meta:
        ordering = ["-detected_at"]
        permissions = [
            ("respond_incident", "Can acknowledge, hold, publish now and post updates"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["origin_component"],
                condition=models.Q(resolved_at__isnull=True, origin_component__isnull=False),
                name="one_open_probe_incident_per_component",
            ),
            models.UniqueConstraint(
                fields=["short_code"],
                condition=models.Q(resolved_at__isnull=True) & ~models.Q(short_code=""),
                name="one_short_code_per_open_incident",
            ),
            imported_once("incident"),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        """A new incident takes a free short code; if a concurrent one took the same code
        first (the constraint), it takes another, in a savepoint, a few times."""
        if self.short_code:
            return super().save(*args, **kwargs)
        for attempt in range(SHORT_CODE_TRIES):
            self.short_code = self.free_short_code()
            try:
                with transaction.atomic():
                    return super().save(*args, **kwargs)
            except IntegrityError as error:
                if "short_code" not in str(error) or attempt == SHORT_CODE_TRIES - 1:
                    raise
                self.short_code = ""

    @classmethod
    def free_short_code(cls) -> str:
        """A code no unresolved incident holds (the constraint settles a race)."""
        taken = set(
            cls.objects.filter(resolved_at__isnull=True).values_list("short_code", flat=True)
        )
        while (code := new_short_code()) in taken:
            pass
        return code

    @property
    def acknowledger(self) -> str:
        """Who acknowledged: the contact paged, or the staff member in the console."""
        return self.acknowledged_contact or str(self.acknowledged_by or "")

    def get_status_display(self) -> str:  # type: ignore[no-redef]  # faster than Django's
        return choice_label(IncidentStatus, self.status)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def is_maintenance(self) -> bool:
        return self.kind == self.Kind.MAINTENANCE

    @property
    def is_private(self) -> bool:
        """Private to some audience: never on a public surface nor announced to the public."""
        return self.private_to.exists()

    def message_link(self, audience: Audience | None = None) -> str:
        """The link a message about it carries: the public permalink; for an incident
        private to some audiences, its permalink on a private page, where the public one
        answers 404: `audience`'s if that is one of them, else the first of them (by name)
        that has a page. Members of another of them sign in there and meet a 404: a
        message rendered once for many readers carries one link."""
        base = settings.STATUSPAGE["URL"]
        pages = sorted((a for a in self.private_to.all() if a.private_page), key=str)
        if pages:
            page = audience if audience in pages else pages[0]
            base += page.page_path
        return f"{base}/incidents/{self.public_id}"

    def make_private_to(self, audiences: Iterable[Audience]) -> None:
        """Private to these audiences; none: public, unless every component it is on is
        private (then private to their audiences, as `inherit_privacy` says)."""
        audiences = list(audiences)
        self.private_to.set(audiences)
        if not audiences:
            self.inherit_privacy()

    def inherit_privacy(self) -> None:
        """Opened on components that are all private: private to their audiences too, or
        an incident named after a private component would reach the public."""
        components = list(self.components.prefetch_related("private_to"))
        if not components or any(not c.private_to.all() for c in components):
            return
        self.private_to.add(*{a for c in components for a in c.private_to.all()})

    def announced_components(self) -> list[Component]:
        """The components named when announcing it to its readers: the public ones, and,
        of a private incident, those private to its audiences too."""
        audiences = list(self.private_to.all())
        public = visible_to(None, Component.private_to.through, "component")
        if not audiences:
            return list(self.components.filter(public))
        own = models.Q(private_to__in=audiences)
        return list(self.components.filter(public | own).distinct())

    def is_held(self, now: datetime) -> bool:
        return self.held_until is not None and self.held_until > now

    def latest_public_update(self) -> IncidentUpdate | None:
        return self.updates.order_by("-display_at", "-id").first()

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
        elif status in (IncidentStatus.RESOLVED, IncidentStatus.COMPLETED):
            self.resolved_at = now

    def is_due_for_auto_resolve(self, now: datetime, stable_for: timedelta) -> bool:
        return (
            stable_for > timedelta(0)
            and self.status == IncidentStatus.MONITORING
            and self.monitoring_at is not None
            and now - self.monitoring_at >= stable_for
        )

    def auto_resolve_period(self, site_wide: timedelta, staff_acted: bool) -> timedelta:
        """How long it must stay back before it resolves by itself: its policy's period when
        a probe opened it and no person has acted on it since (a person who acted owns its
        ending), else the site-wide AUTO_RESOLVE_AFTER_SECONDS (zero: never)."""
        if self.origin_probe_id is not None and self.policy is not None and not staff_acted:
            period = timedelta(minutes=self.policy.auto_resolve_minutes)
            if period > timedelta(0):
                return period
        return site_wide


class AffectedComponent(models.Model):
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="affected")
    component = models.ForeignKey(Component, on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=24, choices=ComponentStatus.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["incident", "component"], name="affected_once"),
        ]


class PublicUpdateManager(models.Manager):
    def get_queryset(self) -> models.QuerySet:
        return super().get_queryset().filter(internal=False)


class IncidentUpdate(CleanInput, models.Model):
    class Kind(models.TextChoices):
        OPENED = "opened", _("Opened")
        UPDATE = "update", _("Update")
        RECOVERING = "recovering", _("Recovering")
        RELAPSED = "relapsed", _("Relapsed")
        RESOLVED = "resolved", _("Resolved")
        HOLDING = "holding", _("Holding update")
        MAINTENANCE_SCHEDULED = "maintenance_scheduled", _("Maintenance scheduled")
        MAINTENANCE_STARTED = "maintenance_started", _("Maintenance started")
        MAINTENANCE_COMPLETED = "maintenance_completed", _("Maintenance completed")
        # What happened and what will change, after the resolution: the page and email only.
        POSTMORTEM = "postmortem", _("Postmortem")
        # Internal: never shown to the public, they carry pages and reminders to on-call staff.
        PAGING = "paging", _("Page to on-call staff")
        REMINDER = "reminder", _("Reminder to on-call staff")
        NOTE = "note", _("Internal note")
        MONITORING_INTERRUPTED = "monitoring_interrupted", _("Monitoring interrupted")
        MONITORING_RESTORED = "monitoring_restored", _("Monitoring restored")

    public_id = models.CharField(max_length=32, unique=True, default=new_public_id, editable=False)
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="updates")
    kind = models.CharField(max_length=24, choices=Kind.choices, default=Kind.UPDATE)
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
    internal = models.BooleanField(default=False)
    external_id = models.CharField(max_length=64, blank=True, default="", editable=False)

    # The default manager (and so `incident.updates`) hides internal updates from every
    # public reader; staff code asks `IncidentUpdate.everything`.
    objects = PublicUpdateManager()
    everything = models.Manager()

    class Meta:
        ordering = ["-display_at", "-id"]
        constraints = [imported_once("incidentupdate")]

    def __str__(self) -> str:
        return f"{self.incident}: {self.get_status_display()} at {self.display_at:%H:%M}"

    def get_status_display(self) -> str:  # type: ignore[no-redef]  # faster than Django's
        return choice_label(IncidentStatus, self.status)


phone_validator = RegexValidator(
    r"^\+[1-9][0-9]{6,14}$", _("Use the international E.164 form, e.g. +14155550123.")
)


class OnCallContact(CleanInput, models.Model):
    """A person paged when an incident opens; `active` ones are on call now."""

    name = models.CharField(max_length=120)
    phone = models.CharField(max_length=16, blank=True, validators=[phone_validator])
    email = models.EmailField(blank=True)
    active = models.BooleanField(default=True)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "name"]

    def __str__(self) -> str:
        return self.name


class Action(models.TextChoices):
    PAGE = "page", _("Page on-call staff")
    PUBLISH = "publish", _("Publish the current update")
    REMIND = "remind", _("Remind on-call staff")
    HOLDING = "holding", _("Publish a holding update when the last one is overdue")


PUBLIC_ACTIONS = (Action.PUBLISH, Action.HOLDING)
# A publish step may name the status page itself: it makes the incident public.
PAGE_CHANNEL = "page"


class EscalationPolicy(CleanInput, models.Model):
    """Ordered steps for one kind of incident, chosen by component and impact."""

    name = models.CharField(max_length=120, unique=True)
    description = models.TextField(blank=True)
    components = models.ManyToManyField(
        Component, blank=True, related_name="+", help_text=_("Empty: any component.")
    )
    impacts = models.JSONField(default=list, blank=True, help_text=_("Empty: any impact."))
    priority = models.PositiveIntegerField(
        default=100, help_text=_("When several policies match, the lowest number wins.")
    )
    cadence_minutes = models.PositiveIntegerField(
        default=30, help_text=_("Every update promises the next one this many minutes later.")
    )
    auto_resolve_minutes = models.PositiveIntegerField(
        default=30,
        help_text=_(
            "Resolve an incident a probe opened once it has been back this many minutes, "
            "unless staff acted on it; everyone told hears. 0: staff resolve it."
        ),
    )

    class Meta:
        ordering = ["priority", "name"]
        verbose_name_plural = "escalation policies"

    def __str__(self) -> str:
        return self.name

    @property
    def cadence(self) -> timedelta:
        return timedelta(minutes=self.cadence_minutes)

    def applies_to(self, component_ids: set[int], impact: str) -> bool:
        if self.impacts and impact not in self.impacts:
            return False
        own = {c.id for c in self.components.all()}
        return not own or bool(own & component_ids)


class EscalationStep(CleanInput, models.Model):
    """After `delay` from detection, unless resolved (or acknowledged, for pages): do `action`."""

    policy = models.ForeignKey(EscalationPolicy, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveIntegerField(default=0)
    delay_seconds = models.PositiveIntegerField(default=0)
    action = models.CharField(max_length=12, choices=Action.choices)
    recipients = models.CharField(max_length=16, blank=True, help_text=_("For publish steps."))
    channels = models.JSONField(default=list, blank=True)
    repeat_every_seconds = models.PositiveIntegerField(
        default=0, help_text=_("0: once. Otherwise the step repeats on this period.")
    )
    if_quiet_for_seconds = models.PositiveIntegerField(
        default=0, help_text=_("Reminders: only when no staff update for this long.")
    )
    levels_repeat = models.PositiveIntegerField(
        default=0, help_text=_("Page steps with levels: go through them again this many times.")
    )

    class Meta:
        ordering = ["policy", "delay_seconds", "position", "id"]

    def __str__(self) -> str:
        return f"{self.policy}: T+{self.delay_seconds // 60} min {self.get_action_display()}"

    @property
    def delay(self) -> timedelta:
        return timedelta(seconds=self.delay_seconds)

    @property
    def is_public(self) -> bool:
        return self.action in PUBLIC_ACTIONS

    def clean(self) -> None:
        errors: dict[str, StrOrPromise] = {}
        if not isinstance(self.channels, list) or not all(
            isinstance(c, str) for c in self.channels
        ):
            errors["channels"] = _('A list of channel names, e.g. ["email", "sms"].')
        if self.action == Action.PUBLISH and self.recipients not in Recipients.values:
            errors["recipients"] = _("Publish steps say to whom: %(choices)s.") % {
                "choices": ", ".join(Recipients.values)
            }
        if self.action in (Action.PAGE, Action.REMIND, Action.PUBLISH) and not self.channels:
            errors.setdefault("channels", _("Name at least one channel."))
        if errors:
            raise ValidationError(errors)


class FiredStep(models.Model):
    """One step (or one repetition, or one maintenance milestone) that happened, once.

    The unique key is what makes the clock exactly-once: whoever inserts it first fires it,
    in the same transaction; a second engine, a restart or a clock jump finds it taken.
    """

    class Outcome(models.TextChoices):
        FIRED = "fired", _("Fired")
        SKIPPED = "skipped", _("Skipped")

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="fired_steps")
    step = models.ForeignKey(
        EscalationStep, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    key = models.CharField(max_length=80)
    due_at = models.DateTimeField()
    fired_at = models.DateTimeField()
    outcome = models.CharField(max_length=8, choices=Outcome.choices, default=Outcome.FIRED)
    note = models.CharField(max_length=500, blank=True)
    update = models.ForeignKey(
        IncidentUpdate, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    fired_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["fired_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["incident", "key"], name="fire_each_step_once"),
        ]

    def __str__(self) -> str:
        return f"{self.incident}: {self.key} {self.outcome}"


class AuditEvent(models.Model):
    """Who did what, when, with the state before and after: every staff and clock action."""

    incident = models.ForeignKey(
        Incident, null=True, blank=True, on_delete=models.CASCADE, related_name="audit_events"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=40)
    # Acknowledgements: where from (AckVia) and the on-call contact, who has no login.
    via = models.CharField(max_length=16, choices=AckVia.choices, blank=True)
    contact = models.CharField(max_length=200, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    reason = models.TextField(blank=True)
    at = models.DateTimeField()

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor or 'system'}: {self.action}"


class UsedAckLink(models.Model):
    """A signed acknowledge link spent: the unique key makes each link work once, across
    processes (whoever inserts it first acknowledges; a second use finds it taken)."""

    key = models.CharField(max_length=80, unique=True)
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="+")
    used_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.key} used at {self.used_at:%Y-%m-%d %H:%M}"


class MessageTemplate(CleanInput, models.Model):
    """An admin's override of one file under templates/messages/ for one locale."""

    channel = models.CharField(max_length=32)
    kind = models.CharField(max_length=24, choices=IncidentUpdate.Kind.choices)
    part = models.CharField(max_length=16, blank=True)
    locale = models.CharField(max_length=10, default="en")
    body = models.TextField(help_text=_("Django template language; same context as the file."))

    class Meta:
        ordering = ["channel", "kind", "part", "locale"]
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "kind", "part", "locale"], name="one_override_per_template"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.channel}/{self.kind}_{self.part} ({self.locale})"


class ApiTokenQuerySet(models.QuerySet):
    def usable(self, now: datetime) -> ApiTokenQuerySet:
        """Neither revoked nor expired: the keys the API accepts."""
        return self.filter(revoked_at__isnull=True).filter(
            models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=now)
        )


class ApiToken(CleanInput, models.Model):
    """A management API key; only its SHA-256 is stored, the key is shown once.

    A key may expire (`expires_at`) and is revoked, never deleted, so the admin's list keeps
    who had which key and when it was last used."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=120)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    expires_at = models.DateTimeField(
        null=True, blank=True, help_text=_("Empty: the key never expires.")
    )
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = ApiTokenQuerySet.as_manager()

    def __str__(self) -> str:
        return f"{self.name} ({self.user})"

    def state(self, now: datetime) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return "active"

    def revoke(self, now: datetime) -> bool:
        """Revoke the key at once; False if it was revoked already."""
        updated = ApiToken.objects.filter(id=self.id, revoked_at__isnull=True).update(
            revoked_at=now
        )
        self.revoked_at = self.revoked_at or now
        return updated == 1


# Schedules, escalation levels and paged contacts live in their own module; imported here so
# Django registers them with the app's models.
from incidents.schedules import (  # noqa: E402, F401
    EscalationLevel,
    LayerMember,
    PagedContact,
    Schedule,
    ScheduleLayer,
    ScheduleOverride,
)
