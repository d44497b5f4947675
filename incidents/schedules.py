"""On-call schedules, escalation levels and the record of who each page went to.

A schedule is ordered layers of rotations over `OnCallContact` people, in one IANA time
zone: each layer hands off daily or weekly at a local time (so a hand-off at 09:00 Madrid
stays at 09:00 across DST), a higher layer covers a lower one wherever it has someone, and
an override covers the whole schedule for a window. All of it is read from prefetched rows
(`Schedule.objects.for_reading()`), so asking who is on call costs no query per moment.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from statuspage.inputs import CleanInput

# How far ahead `next_hand_off` looks for a change of person.
HORIZON = timedelta(days=62)


def validate_zone(value: str) -> None:
    if value not in available_timezones():
        raise ValidationError(_("An IANA time zone, e.g. Europe/Madrid."))


def local_moment(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The moment a local wall-clock time happens (a time skipped by DST: just after it)."""
    return datetime.combine(day, at, tzinfo=zone)


class ScheduleQuerySet(models.QuerySet):
    def for_reading(self, since: datetime | None = None) -> ScheduleQuerySet:
        """Everything `on_call_at` reads, in four queries; overrides over by `since` left out."""
        overrides = ScheduleOverride.objects.select_related("contact", "created_by")
        if since is not None:
            overrides = overrides.filter(ends_at__gt=since)
        members = LayerMember.objects.select_related("contact")
        return self.prefetch_related(
            models.Prefetch(
                "layers",
                queryset=ScheduleLayer.objects.prefetch_related(
                    models.Prefetch("members", queryset=members)
                ),
            ),
            models.Prefetch("overrides", queryset=overrides),
        )


class Schedule(CleanInput, models.Model):
    """Who is on call when: layers of rotations, and overrides above them all."""

    name = models.CharField(max_length=120, unique=True)
    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_zone])

    objects = ScheduleQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def zone(self) -> ZoneInfo:
        try:
            return ZoneInfo(self.time_zone)
        except (ZoneInfoNotFoundError, ValueError):
            return ZoneInfo("UTC")

    def on_call_at(self, moment: datetime):
        """The person on call at `moment`: the latest override covering it, else the highest
        layer that has someone then; None when nobody is."""
        for override in sorted(self.overrides.all(), key=lambda o: -o.id):
            if override.covers(moment):
                return override.contact
        for layer in sorted(self.layers.all(), key=lambda layer: -layer.position):
            person = layer.on_call_at(moment, self.zone)
            if person is not None:
                return person
        return None

    def change_moments(self, after: datetime) -> list[datetime]:
        """Every moment after `after` (within the horizon) at which the person may change."""
        moments = set()
        for layer in self.layers.all():
            moments.update(layer.change_moments(after, self.zone))
        for override in self.overrides.all():
            moments.update((override.starts_at, override.ends_at))
        return sorted(m for m in moments if after < m <= after + HORIZON)

    def next_hand_off(self, after: datetime) -> tuple[datetime, object] | None:
        """When the person on call next changes after `after`, and who takes over (None:
        nobody); None when nothing changes within the horizon."""
        current = self.on_call_at(after)
        for moment in self.change_moments(after):
            person = self.on_call_at(moment)
            if getattr(person, "pk", None) != getattr(current, "pk", None):
                return moment, person
        return None


class ScheduleLayer(CleanInput, models.Model):
    """One rotation: members take turns from `starts_at`, handing off at a local time."""

    class Rotation(models.TextChoices):
        DAILY = "daily", _("Daily")
        WEEKLY = "weekly", _("Weekly")

    schedule = models.ForeignKey(Schedule, on_delete=models.CASCADE, related_name="layers")
    position = models.PositiveIntegerField(
        default=1, help_text=_("A higher layer covers a lower one where it has someone.")
    )
    name = models.CharField(max_length=120, blank=True)
    rotation = models.CharField(max_length=8, choices=Rotation.choices, default=Rotation.WEEKLY)
    hand_off_time = models.TimeField(default=time(9, 0))
    hand_off_weekday = models.PositiveSmallIntegerField(
        default=0, help_text=_("Weekly rotations: 0 is Monday, 6 is Sunday.")
    )
    starts_at = models.DateTimeField(help_text=_("The first member is on call from here."))
    restrict_weekdays = models.JSONField(
        default=list, blank=True, help_text=_("Only on these weekdays (0 is Monday); empty: all.")
    )
    restrict_from = models.TimeField(null=True, blank=True)
    restrict_until = models.TimeField(null=True, blank=True)

    class Meta:
        ordering = ["schedule", "position", "id"]

    def __str__(self) -> str:
        return f"{self.schedule}: {self.name or self.get_rotation_display()}"

    def clean(self) -> None:
        errors = {}
        if self.hand_off_weekday is not None and self.hand_off_weekday > 6:
            errors["hand_off_weekday"] = _("0 (Monday) to 6 (Sunday).")
        days = self.restrict_weekdays
        if not isinstance(days, list) or not all(
            isinstance(d, int) and not isinstance(d, bool) and 0 <= d <= 6 for d in days
        ):
            errors["restrict_weekdays"] = _("A list of weekdays, 0 (Monday) to 6 (Sunday).")
        if (self.restrict_from is None) != (self.restrict_until is None):
            errors["restrict_until"] = _("Give both ends of the window, or neither.")
        if errors:
            raise ValidationError(errors)

    @property
    def period_days(self) -> int:
        return 7 if self.rotation == self.Rotation.WEEKLY else 1

    def hand_off_day(self, moment: datetime, zone: ZoneInfo) -> date:
        """The local day of the last hand-off at or before `moment`."""
        day = moment.astimezone(zone).date()
        if self.rotation == self.Rotation.WEEKLY:
            day -= timedelta(days=(day.weekday() - self.hand_off_weekday) % 7)
        if local_moment(day, self.hand_off_time, zone) > moment:
            day -= timedelta(days=self.period_days)
        return day

    def turn(self, moment: datetime, zone: ZoneInfo) -> int:
        """How many hand-offs happened from `starts_at` to `moment`."""
        days = (self.hand_off_day(moment, zone) - self.hand_off_day(self.starts_at, zone)).days
        return days // self.period_days

    def covers(self, moment: datetime, zone: ZoneInfo) -> bool:
        """Inside the layer's restriction window (always, when it has none)."""
        local = moment.astimezone(zone)
        if self.restrict_weekdays and local.weekday() not in self.restrict_weekdays:
            return False
        start, end = self.restrict_from, self.restrict_until
        if start is None or end is None:
            return True
        at = local.time()
        return start <= at < end if start < end else (at >= start or at < end)

    def on_call_at(self, moment: datetime, zone: ZoneInfo):
        members = list(self.members.all())
        if not members or moment < self.starts_at or not self.covers(moment, zone):
            return None
        return members[self.turn(moment, zone) % len(members)].contact

    def change_moments(self, after: datetime, zone: ZoneInfo) -> list[datetime]:
        """Hand-offs and window edges after `after`, within the horizon."""
        first = self.hand_off_day(max(after, self.starts_at), zone)
        count = HORIZON.days // self.period_days + 1
        moments = [self.starts_at] + [
            local_moment(first + timedelta(days=n * self.period_days), self.hand_off_time, zone)
            for n in range(1, count + 1)
        ]
        if self.restrict_weekdays or self.restrict_from is not None:
            edges = [time(0, 0), self.restrict_from, self.restrict_until]
            today = after.astimezone(zone).date()
            moments += [
                local_moment(today + timedelta(days=n), edge, zone)
                for n in range(HORIZON.days + 1)
                for edge in edges
                if edge is not None
            ]
        return moments


class LayerMember(models.Model):
    """A person's place in a layer's rotation."""

    layer = models.ForeignKey(ScheduleLayer, on_delete=models.CASCADE, related_name="members")
    contact = models.ForeignKey(
        "incidents.OnCallContact", on_delete=models.CASCADE, related_name="+"
    )
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return f"{self.layer}: {self.contact}"


class ScheduleOverride(CleanInput, models.Model):
    """ "Ana covers Saturday 08:00-20:00": one person for a window, above every layer."""

    schedule = models.ForeignKey(Schedule, on_delete=models.CASCADE, related_name="overrides")
    contact = models.ForeignKey(
        "incidents.OnCallContact", on_delete=models.CASCADE, related_name="+"
    )
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["starts_at", "id"]

    def __str__(self) -> str:
        return f"{self.contact} covers {self.schedule} from {self.starts_at:%Y-%m-%d %H:%M}"

    def clean(self) -> None:
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValidationError({"ends_at": _("An override ends after it starts.")})

    def covers(self, moment: datetime) -> bool:
        return self.starts_at <= moment < self.ends_at


class EscalationLevel(CleanInput, models.Model):
    """One level of a page step: a schedule's person and/or named contacts, paged in turn
    while nobody acknowledges; the next level follows `wait_minutes` later."""

    step = models.ForeignKey(
        "incidents.EscalationStep", on_delete=models.CASCADE, related_name="levels"
    )
    position = models.PositiveIntegerField(default=1)
    schedule = models.ForeignKey(
        Schedule, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    contacts = models.ManyToManyField("incidents.OnCallContact", blank=True, related_name="+")
    wait_minutes = models.PositiveIntegerField(
        default=15, help_text=_("Page the next level after this long without an acknowledgement.")
    )

    class Meta:
        ordering = ["step", "position", "id"]

    def __str__(self) -> str:
        return f"{self.step}: level {self.position}"

    def clean(self) -> None:
        if self.step_id and self.step.action != "page":
            raise ValidationError({"step": _("Only page steps have escalation levels.")})

    def people_at(self, moment: datetime) -> list:
        """Who this level pages at `moment`: the schedule's person, then the named contacts."""
        people = [self.schedule.on_call_at(moment)] if self.schedule else []
        people += list(self.contacts.all())
        unique = {p.pk: p for p in people if p is not None}
        return list(unique.values())


class PagedContact(models.Model):
    """Who one page (an internal paging update) went to, fixed when it fired: a retry, or
    a send after a hand-off, reaches these people and no others."""

    update = models.ForeignKey(
        "incidents.IncidentUpdate", on_delete=models.CASCADE, related_name="+"
    )
    contact = models.ForeignKey(
        "incidents.OnCallContact",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    level = models.PositiveIntegerField(default=0, help_text=_("0: no levels (everyone on call)."))
    name = models.CharField(max_length=120)
    phone = models.CharField(max_length=16, blank=True)
    email = models.EmailField(blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.name} (level {self.level})"
