"""The status domain: components in groups, the app audiences they affect, probes and results."""

from __future__ import annotations

import difflib
import functools
import hashlib
import re
import secrets
import uuid
import zoneinfo
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import IntegrityError, models, transaction
from django.utils.translation import gettext_lazy as _

from statuspage import clock, viewer
from statuspage.checks import ProbeKind, kind_for, pushed_kinds, registered
from statuspage.checks.outcome import CheckOutcome
from statuspage.inputs import CleanInput
from statuspage.judging.silence import MISSED_INTERVALS, Silence
from statuspage.judging.verdicts import Confirmation, ProbeState
from statuspage.judging.verdicts import Verdict as Verdict  # re-exported: callers find it here
from statuspage.statuses import ComponentStatus, choice_label


@functools.cache
def time_zone_names() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def validate_time_zone(name: str) -> None:
    """An IANA time zone name; a near miss is suggested ('Europe/Berln': 'Europe/Berlin'?)."""
    if name in time_zone_names():
        return
    close = difflib.get_close_matches(name, sorted(time_zone_names()), n=1)
    hint = _(" Did you mean '%(name)s'?") % {"name": close[0]} if close else ""
    raise ValidationError(
        _("'%(name)s' is not an IANA time zone name (such as 'UTC' or 'Europe/Berlin').%(hint)s"),
        params={"name": name, "hint": hint},
        code="invalid_time_zone",
    )


def new_public_id() -> str:
    return uuid.uuid4().hex[:12]


def imported_once(model: str) -> models.UniqueConstraint:
    """One row per id of the page it was imported from (`external_id`); ours have none."""
    return models.UniqueConstraint(
        fields=["external_id"],
        condition=~models.Q(external_id=""),
        name=f"{model}_imported_once",
    )


class ComponentGroup(CleanInput, models.Model):
    public_id = models.CharField(max_length=32, unique=True, default=new_public_id, editable=False)
    name = models.CharField(max_length=120, unique=True)
    description = models.TextField(blank=True)
    position = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # The Statuspage id it was imported from (incidents.response.importing); empty: ours.
    external_id = models.CharField(max_length=64, blank=True, default="", editable=False)

    class Meta:
        ordering = ["position", "name"]
        constraints = [imported_once("componentgroup")]

    def __str__(self) -> str:
        return self.name


topic_validator = RegexValidator(
    r"^[a-zA-Z0-9\-_.~%]+$", _("Use letters, digits and - _ . ~ % only (FCM topic rules).")
)


class Audience(CleanInput, models.Model):
    """The users of one of the company's apps: they see its banner and get its pushes.

    With `private_page`, also the readers of a page of its own (`/a/<slug>/`): the public
    components and incidents plus those private to it (`visible_to`), for its members
    (`AudienceMember`) and, while `embed_enabled`, anyone holding its signed embed URL
    (rotated by bumping `embed_key_version`)."""

    slug = models.SlugField(max_length=60, unique=True)
    name = models.CharField(max_length=120)
    push_topic = models.CharField(max_length=200, validators=[topic_validator])
    private_page = models.BooleanField(
        default=False, help_text=_("Has a private page of its own at /a/<slug>/.")
    )
    embed_enabled = models.BooleanField(
        default=False, help_text=_("Its signed embed URL opens the private page.")
    )
    embed_key_version = models.PositiveIntegerField(
        default=1, help_text=_("Bump to invalidate every embed URL given out so far.")
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def rotate_embed_key(self) -> None:
        """Every embed URL given out so far stops working (a database increment)."""
        Audience.objects.filter(id=self.id).update(
            embed_key_version=models.F("embed_key_version") + 1
        )
        self.refresh_from_db(fields=["embed_key_version"])

    @property
    def page_path(self) -> str:
        """Its private page's path below the site's address (no trailing slash)."""
        return f"/a/{self.slug}"

    def has_member(self, user) -> bool:
        """Staff read every private page; others need a membership."""
        if not user.is_authenticated or not user.is_active:
            return False
        if user.is_staff:
            return True
        return AudienceMember.objects.filter(audience=self, user=user).exists()


def visible_to(audience: Audience | None, link: Any, owner: str) -> models.Q:
    """THE rule of private rows, for components and incidents alike: a row private to no
    audience is public; a row private to some audiences is seen only on those audiences'
    pages. `link` is the row's `private_to` through table, `owner` its foreign key name."""
    private = models.Q(models.Exists(link.objects.filter(**{owner: models.OuterRef("pk")})))
    if audience is None:
        return ~private
    own = link.objects.filter(**{owner: models.OuterRef("pk"), "audience": audience})
    return ~private | models.Q(models.Exists(own))


class ComponentQuerySet(models.QuerySet):
    def visible_to(self, audience: Audience | None) -> ComponentQuerySet:
        return self.filter(visible_to(audience, Component.private_to.through, "component"))

    def shown(self) -> ComponentQuerySet:
        """What the reader of this request may see (statuspage.viewer): the public, by default."""
        return self.visible_to(viewer.audience())

    def private(self) -> ComponentQuerySet:
        return self.filter(private_to__isnull=False).distinct()


class Component(CleanInput, models.Model):
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
    private_to = models.ManyToManyField(
        Audience,
        blank=True,
        related_name="private_components",
        help_text=_("Shown only on these audiences' private pages; empty: public."),
    )
    start_date = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    external_id = models.CharField(max_length=64, blank=True, default="", editable=False)

    objects = ComponentQuerySet.as_manager()

    class Meta:
        ordering = ["group__position", "position", "name"]
        constraints = [imported_once("component")]

    def __str__(self) -> str:
        return self.name

    def get_status_display(self) -> str:  # type: ignore[no-redef]  # faster than Django's
        return choice_label(ComponentStatus, self.status)

    @property
    def unknown_since(self) -> datetime | None:
        """When its earliest silent probe was last checked, on components read through
        statuspage.picture.silence.with_silence; None: every probe is being checked."""
        return getattr(self, "silent_probe_since", None)

    @property
    def status_unknown(self) -> bool:
        """A probe of it is silent, so its status may be stale; maintenance says more."""
        return self.unknown_since is not None and self.status != ComponentStatus.UNDER_MAINTENANCE

    def set_status(self, status: str) -> bool:
        """Store a new status and log the change (uptime history); returns whether it changed."""
        if self.status == status:
            return False
        old, self.status = self.status, status
        # One transaction: what a new change row writes (webhooks' component_update events,
        # notifiers.apps) commits with it or not at all.
        with transaction.atomic():
            self.save(update_fields=["status", "updated_at"])
            ComponentStatusChange.objects.create(
                component=self, old_status=old, new_status=status, changed_at=clock.now()
            )
        return True


# The settings every kind has; each kind's own are listed by its ProbeKind.
SHARED_PROBE_SETTINGS = (
    "name",
    "kind",
    "enabled",
    "interval_seconds",
    "timeout_seconds",
    "failures_to_confirm",
    "successes_to_confirm",
    "outage_status",
    "flap_threshold",
    "flap_window_seconds",
    "regions",
    "quorum",
)


class Probe(Confirmation, Silence, CleanInput, models.Model):
    """A check of one component, its schedule and its confirmed state.

    Every kind's settings share this table; which of them a kind uses, how they are
    validated and when it runs next is the kind's own (`statuspage.checks`, one module a
    kind). Counting results into verdicts, flapping and evidence are `Confirmation`'s
    (`statuspage.judging`), and so is noticing that nobody checks it (`Silence`).
    """

    class Kind(models.TextChoices):
        HTTP = "http", _("HTTP(S)")
        TCP = "tcp", _("TCP connect")
        DNS = "dns", _("DNS resolution")
        HEARTBEAT = "heartbeat", _("Heartbeat (the monitored system pings us)")
        FRESHNESS = "freshness", _("Freshness / backlog (a number against thresholds)")
        UPSTREAM = "upstream", _("Upstream provider (status feed or Statuspage JSON)")

    component = models.ForeignKey(Component, on_delete=models.CASCADE, related_name="probes")
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.HTTP)
    url = models.URLField(max_length=500, blank=True, help_text=_("HTTP(S) probes: the URL."))
    method = models.CharField(max_length=8, default="GET")
    headers = models.JSONField(default=dict, blank=True)
    body = models.TextField(
        blank=True, help_text=_("HTTP: the request body. TCP: text sent after connecting.")
    )
    expected_codes = models.CharField(
        max_length=100,
        default="200",
        help_text=_("HTTP status codes that pass, e.g. '200' or '200-299, 304'."),
    )
    body_contains = models.CharField(max_length=500, blank=True)
    body_regex = models.CharField(
        max_length=500, blank=True, help_text=_("HTTP body or TCP banner must match this.")
    )
    json_check = models.CharField(
        max_length=200, blank=True, help_text=_("e.g. '$.queue.depth < 1000'.")
    )
    degraded_latency_ms = models.PositiveIntegerField(
        null=True, blank=True, help_text=_("Slower than this: a warning for staff.")
    )
    down_latency_ms = models.PositiveIntegerField(
        null=True, blank=True, help_text=_("Slower than this: the check fails.")
    )
    follow_redirects = models.BooleanField(default=False)
    tls_expiry_warning_days = models.PositiveSmallIntegerField(default=14)
    host = models.CharField(
        max_length=253, blank=True, help_text=_("TCP: host to connect to. DNS: name to resolve.")
    )
    port = models.PositiveIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(65535)]
    )
    resolver = models.CharField(
        max_length=100, blank=True, help_text=_("DNS: resolver 'address' or 'address:port'.")
    )
    record_type = models.CharField(
        max_length=5,
        blank=True,
        choices=[
            ("A", "A"),
            ("AAAA", "AAAA"),
            ("CNAME", "CNAME"),
            ("MX", "MX"),
            ("NS", "NS"),
            ("TXT", "TXT"),
        ],
        help_text=_(
            "DNS: the record type to ask for; empty: A, or AAAA when the expected "
            "answer is an IPv6 address."
        ),
    )
    expected_address = models.CharField(
        "expected answer",
        max_length=500,
        blank=True,
        help_text=_(
            "DNS: one answer that must be among the records: an address (A, AAAA), "
            "a host name (CNAME, MX exchange, NS) or a record's whole text (TXT)."
        ),
    )
    ping_key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    schedule = models.CharField(
        max_length=100,
        blank=True,
        help_text=_("Heartbeat: a cron expression; empty means every interval_seconds."),
    )
    tz = models.CharField(
        "time zone",
        max_length=64,
        default="UTC",
        validators=[validate_time_zone],
        help_text=_(
            "Heartbeat: the IANA time zone the cron schedule is read in, e.g. "
            "'Europe/Berlin' (daylight saving time included)."
        ),
    )
    grace_seconds = models.PositiveIntegerField(
        default=60, help_text=_("Heartbeat: how late a ping may be before it is a failure.")
    )
    value_path = models.CharField(
        max_length=200,
        blank=True,
        help_text=_(
            "Freshness: where the number is, e.g. '$.data_age_seconds' (in the "
            "endpoint's JSON, or in a heartbeat ping's JSON body)."
        ),
    )
    degraded_above = models.FloatField(null=True, blank=True)
    outage_above = models.FloatField(null=True, blank=True)
    feed_window_minutes = models.PositiveIntegerField(
        default=360, help_text=_("Upstream feeds: entries newer than this may be active incidents.")
    )
    last_ping_at = models.DateTimeField(null=True, blank=True)
    last_start_at = models.DateTimeField(null=True, blank=True)
    last_warning = models.CharField(max_length=500, blank=True)
    flap_threshold = models.PositiveSmallIntegerField(
        default=4,
        help_text=_(
            "More confirmed changes than this within the window is "
            "flapping: staff are told, the public picture holds (0: off)."
        ),
    )
    flap_window_seconds = models.PositiveIntegerField(default=3600)
    transitions = models.JSONField(default=list, blank=True, editable=False)
    flapping_since = models.DateTimeField(null=True, blank=True)
    regions = models.JSONField(
        default=list,
        blank=True,
        help_text=_("Probe agent regions that check this probe; empty: the engine alone."),
    )
    quorum = models.PositiveSmallIntegerField(
        default=0, help_text=_("How many regions must confirm a failure (0: a majority).")
    )
    reported = models.CharField(
        max_length=24,
        blank=True,
        editable=False,
        help_text=_("The status the incident workflow was last told."),
    )
    failure_status = models.CharField(
        max_length=24, blank=True, help_text=_("The status the confirmed failure means.")
    )
    evidence = models.JSONField(
        default=dict,
        blank=True,
        help_text=_("The current or last failure: first failure time, error samples, latency."),
    )
    created_at = models.DateTimeField(default=clock.now, editable=False)
    interval_seconds = models.PositiveIntegerField(
        default=30, validators=[MinValueValidator(10), MaxValueValidator(86400)]
    )
    timeout_seconds = models.FloatField(
        default=10, validators=[MinValueValidator(0.5), MaxValueValidator(120)]
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
    # Set (claimed once, with a conditional UPDATE) while nobody checks the probe: its last
    # result, or its creation, before the silence. statuspage.picture.silence keeps it.
    silent_since = models.DateTimeField(null=True, blank=True, editable=False)

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
    def rules(self) -> ProbeKind:
        """What this probe's kind asks of it (statuspage.checks.registry)."""
        return kind_for(self.kind)

    @property
    def interval(self) -> timedelta:
        return timedelta(seconds=self.interval_seconds)

    def is_due(self, now: datetime) -> bool:
        return self.enabled and (self.next_run_at is None or self.next_run_at <= now)

    def next_run_after(self, now: datetime) -> datetime:
        return self.rules.next_run(self, now)

    def clean(self) -> None:
        """The kind's own rules (each missing or unreadable setting by name), then the
        regions every kind shares."""
        kind = registered().get(self.kind)
        errors = kind.problems(self) if kind else {}
        errors.update(self.region_problems())
        if errors:
            raise ValidationError(errors)

    @classmethod
    def overdue(cls, now: datetime) -> models.QuerySet[Probe]:
        """Enabled probes watched for silence with no result for two of their intervals,
        filtered in the database: one condition per distinct interval (there are few)."""
        watched = cls.objects.filter(enabled=True).exclude(kind__in=pushed_kinds())
        intervals = watched.order_by().values_list("interval_seconds", flat=True).distinct()
        overdue = models.Q(pk__in=[])
        for seconds in set(intervals):
            cutoff = now - MISSED_INTERVALS * timedelta(seconds=seconds)
            overdue |= models.Q(interval_seconds=seconds) & (
                models.Q(last_checked_at__lt=cutoff)
                | models.Q(last_checked_at__isnull=True, created_at__lt=cutoff)
            )
        return watched.filter(overdue)

    def region_reports(self) -> dict[str, datetime | None]:
        """When each of its regions last reported a result (None: never)."""
        seen = dict(
            self.region_states.filter(region__in=self.regions).values_list(
                "region", "last_checked_at"
            )
        )
        return {region: seen.get(region) for region in self.regions}

    def live_regions(self, now: datetime) -> list[str]:
        reports = self.region_reports()
        return [r for r in self.regions if self.region_is_live(reports[r], now)]

    def region_problems(self) -> dict[str, str]:
        if not isinstance(self.regions, list) or not all(
            isinstance(r, str) and re.fullmatch(r"[-a-z0-9_]+", r) for r in self.regions
        ):
            return {"regions": str(_("A list of region names such as [eu-west, us-east]."))}
        if self.quorum > len(self.regions):
            return {"quorum": str(_("Cannot exceed the number of regions."))}
        return {}


class CheckResult(models.Model):
    probe = models.ForeignKey(Probe, on_delete=models.CASCADE, related_name="results")
    region = models.CharField(max_length=40, blank=True)
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


class EngineHeartbeat(models.Model):
    """The engine's own pulse, one row per engine name, and the watchdog's alarm about it.

    The engine stamps `last_cycle_at` after each loop; the web process and the watchdog
    read it. `alarm_raised_at` is claimed with a conditional UPDATE so that an interruption
    pages on-call once, whichever process notices it first.
    """

    name = models.CharField(max_length=60, unique=True, default="engine")
    started_at = models.DateTimeField(null=True, blank=True)
    last_cycle_at = models.DateTimeField(null=True, blank=True)
    interval_seconds = models.FloatField(default=10)
    host = models.CharField(max_length=200, blank=True)
    pid = models.PositiveIntegerField(null=True, blank=True)
    checks_completed = models.PositiveBigIntegerField(default=0)
    slip_p99_ms = models.FloatField(null=True, blank=True)
    alarm_raised_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} (last cycle {self.last_cycle_at})"


class EngineNode(models.Model):
    """One engine process, registered when it starts: its own pulse, so a dead engine among
    several is seen and named.

    Alive: it beat within two heartbeat intervals and has not stopped. Stopped: it ended
    cleanly (SIGTERM) and said so. Dead: registered, not stopped, silent for two intervals
    (killed, OOM, its machine gone). The fleet's "monitoring interrupted" state (public)
    is about all engines; a dead one among live ones is for staff only.
    """

    MISSED_BEATS = 2

    host = models.CharField(max_length=200)
    pid = models.PositiveIntegerField()
    region = models.CharField(max_length=60, blank=True)
    started_at = models.DateTimeField()
    last_beat_at = models.DateTimeField()
    interval_seconds = models.FloatField(default=10)
    checks_completed = models.PositiveBigIntegerField(default=0)
    slip_p99_ms = models.FloatField(null=True, blank=True)
    stopped_at = models.DateTimeField(null=True, blank=True)
    # Set when a new engine on the same host took the place of this dead one (a restart).
    replaced_by = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        indexes = [models.Index(fields=["last_beat_at"], name="enginenode_last_beat")]

    def __str__(self) -> str:
        return f"engine {self.holder_name}"

    @property
    def holder_name(self) -> str:
        """How leases name this engine: host and pid for people, the id for uniqueness."""
        return f"{self.host}:{self.pid}#{self.pk}"

    @classmethod
    def from_holder_name(cls, holder: str) -> EngineNode | None:
        pk = holder.rpartition("#")[2]
        return cls.objects.filter(pk=int(pk)).first() if pk.isdigit() else None

    @property
    def interval(self) -> timedelta:
        return timedelta(seconds=self.interval_seconds)

    def is_alive(self, now: datetime) -> bool:
        return self.stopped_at is None and now - self.last_beat_at <= self.MISSED_BEATS * (
            self.interval
        )

    def is_dead(self, now: datetime) -> bool:
        return self.stopped_at is None and not self.is_alive(now)

    def state(self, now: datetime) -> str:
        if self.replaced_by_id is not None:
            return "replaced"
        if self.stopped_at is not None:
            return "stopped"
        return "alive" if self.is_alive(now) else "dead"

    @classmethod
    def register(
        cls, host: str, pid: int, now: datetime, interval_seconds: float, region: str = ""
    ) -> EngineNode:
        """A new engine process; the dead engines of its host count as replaced by it (a
        restart after a crash), so the alert about them ends when their host is back."""
        node = cls.objects.create(
            host=host,
            pid=pid,
            region=region,
            started_at=now,
            last_beat_at=now,
            interval_seconds=interval_seconds,
        )
        same_host = cls.objects.filter(host=host, stopped_at__isnull=True).exclude(pk=node.pk)
        dead_here = [n.pk for n in same_host if n.is_dead(now)]
        cls.objects.filter(pk__in=dead_here).update(replaced_by=node, stopped_at=now)
        return node

    def beat(self, now: datetime, checks_completed: int = 0, slip_p99_ms: float | None = None):
        """One UPDATE: the counters add up in the database, whoever else writes the row."""
        fields: dict = {
            "last_beat_at": now,
            "checks_completed": models.F("checks_completed") + checks_completed,
        }
        if slip_p99_ms is not None:
            fields["slip_p99_ms"] = slip_p99_ms
        EngineNode.objects.filter(pk=self.pk).update(**fields)
        self.last_beat_at = now

    def stop(self, now: datetime) -> None:
        """A clean stop: not alive any more, and not dead either."""
        EngineNode.objects.filter(pk=self.pk).update(stopped_at=now, last_beat_at=now)
        self.stopped_at = now

    @classmethod
    def dead(cls, now: datetime, keep_for: timedelta = timedelta(days=1)) -> list[EngineNode]:
        """Engines that stopped beating without a clean stop, newest first; those silent for
        longer than `keep_for` are history, not an alert (a replaced machine)."""
        silent = cls.objects.filter(stopped_at__isnull=True, last_beat_at__gte=now - keep_for)
        return [n for n in silent.order_by("-last_beat_at") if n.is_dead(now)]

    @classmethod
    def alive(cls, now: datetime) -> list[EngineNode]:
        recent = cls.objects.filter(
            stopped_at__isnull=True, last_beat_at__gte=now - timedelta(days=1)
        ).order_by("started_at", "id")
        return [n for n in recent if n.is_alive(now)]


class Lease(models.Model):
    """A named lease in the database: at most one holder until it expires.

    Singleton work (the engine's housekeeping) runs only in the holder. Taking it is one
    conditional UPDATE (held by me, or expired); the holder renews it on every beat; when
    the holder dies, its lease expires and the next engine to try takes it over.
    """

    HOUSEKEEPING = "housekeeping"

    name = models.CharField(max_length=60, unique=True)
    holder = models.CharField(max_length=200, blank=True)
    acquired_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    # How many times the lease changed hands (a takeover or a new holder after a release).
    changes = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.name} held by {self.holder or 'nobody'} until {self.expires_at}"

    def is_held(self, now: datetime) -> bool:
        return bool(self.holder) and self.expires_at is not None and self.expires_at > now

    @classmethod
    def acquire(cls, name: str, holder: str, now: datetime, ttl: timedelta) -> bool:
        """Take or renew the lease; True when `holder` holds it until now + ttl."""
        mine_or_free = (
            models.Q(holder=holder)
            | models.Q(expires_at__isnull=True)
            | models.Q(expires_at__lte=now)
        )
        new_holder = models.Case(
            models.When(holder=holder, then=models.F("acquired_at")), default=models.Value(now)
        )
        changed = models.Case(
            models.When(holder=holder, then=models.F("changes")),
            default=models.F("changes") + 1,
        )
        won = cls.objects.filter(mine_or_free, name=name).update(
            holder=holder, expires_at=now + ttl, acquired_at=new_holder, changes=changed
        )
        if won:
            return True
        if cls.objects.filter(name=name).exists():
            return False
        try:
            with transaction.atomic():
                cls.objects.create(
                    name=name, holder=holder, acquired_at=now, expires_at=now + ttl, changes=1
                )
        except IntegrityError:
            return False  # another engine created it first
        return True

    @classmethod
    def release(cls, name: str, holder: str, now: datetime) -> bool:
        """Give the lease up at once (a clean stop), so another engine need not wait it out."""
        return bool(cls.objects.filter(name=name, holder=holder).update(expires_at=now))

    @classmethod
    def holder_of(cls, name: str, now: datetime) -> str | None:
        lease = cls.objects.filter(name=name).first()
        return lease.holder if lease and lease.is_held(now) else None


class RollupPeriod(models.TextChoices):
    MINUTE = "minute", _("Minute")
    HOUR = "hour", _("Hour")
    DAY = "day", _("Day")


class ResultRollup(models.Model):
    """Checks of one probe over one minute, hour or day: uptime and a latency histogram.

    Histograms (counts over fixed log-scale latency buckets) add up exactly, so hours are
    built from minutes and days from hours with their percentiles intact, and the 90-day
    views read a few hundred of these rows instead of millions of raw results.
    """

    probe = models.ForeignKey(Probe, on_delete=models.CASCADE, related_name="rollups")
    period = models.CharField(max_length=6, choices=RollupPeriod.choices)
    start = models.DateTimeField()
    checks = models.PositiveIntegerField()
    failures = models.PositiveIntegerField()
    latency_p50 = models.FloatField(null=True)
    latency_p95 = models.FloatField(null=True)
    latency_p99 = models.FloatField(null=True)
    # The exact sum of the latencies, for means (charts); null on rollups made before it was
    # kept, which a mean then leaves out.
    latency_sum = models.FloatField(null=True)
    histogram = models.JSONField(default=dict)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["probe", "period", "start"], name="rollup_once"),
        ]
        indexes = [models.Index(fields=["period", "start"], name="rollup_period_start")]

    def __str__(self) -> str:
        return f"{self.probe} {self.period} {self.start:%Y-%m-%d %H:%M}"

    @property
    def uptime(self) -> float | None:
        """Percent of checks that passed, or None when nothing was checked."""
        return round(100 * (self.checks - self.failures) / self.checks, 3) if self.checks else None


class RegionState(models.Model):
    """One region's own confirmed view of one probe (N failures / M successes)."""

    probe = models.ForeignKey(Probe, on_delete=models.CASCADE, related_name="region_states")
    region = models.CharField(max_length=40)
    state = models.CharField(max_length=8, choices=ProbeState.choices, default=ProbeState.UNKNOWN)
    consecutive_failures = models.PositiveIntegerField(default=0)
    consecutive_successes = models.PositiveIntegerField(default=0)
    since = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    last_checked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["probe", "region"], name="region_once")]

    def __str__(self) -> str:
        return f"{self.probe} from {self.region}: {self.state}"

    def count(self, outcome: CheckOutcome, now: datetime) -> None:
        self.last_checked_at = now
        if outcome.ok:
            self.consecutive_successes += 1
            self.consecutive_failures = 0
            if self.state != ProbeState.UP and self.consecutive_successes >= self.probe.needed(
                self.probe.successes_to_confirm
            ):
                self.state, self.since = ProbeState.UP, now
            return
        self.consecutive_failures += 1
        self.consecutive_successes = 0
        self.last_error = outcome.error[:500]
        if self.state != ProbeState.DOWN and self.consecutive_failures >= self.probe.needed(
            self.probe.failures_to_confirm
        ):
            self.state, self.since = ProbeState.DOWN, now


class ProbeAgent(models.Model):
    """A probe agent in another region: pulls its assignments and pushes results over HTTP,
    authenticated by a bearer token of which only the SHA-256 is stored."""

    name = models.CharField(max_length=80, unique=True)
    region = models.SlugField(max_length=40)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    enabled = models.BooleanField(default=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["region", "name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.region})"

    TOKEN_PREFIX = "spagent_"

    @classmethod
    def new_token(cls) -> str:
        """A random token; the prefix keeps it from starting with "-", which a command
        line reads as an option (1 bare token in 64 did), and names it in a leaked log."""
        return f"{cls.TOKEN_PREFIX}{secrets.token_urlsafe(32)}"

    @staticmethod
    def hash_token(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    @classmethod
    def register(cls, name: str, region: str) -> tuple[ProbeAgent, str]:
        """Create (or re-key) an agent; the token is shown once and never stored."""
        token = cls.new_token()
        agent, _ = cls.objects.update_or_create(
            name=name, defaults={"region": region, "token_hash": cls.hash_token(token)}
        )
        return agent, token

    @classmethod
    def authenticate(cls, token: str) -> ProbeAgent | None:
        if not token:
            return None
        return cls.objects.filter(token_hash=cls.hash_token(token), enabled=True).first()


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


class AudienceMember(models.Model):
    """A user who may read one audience's private page (Django login)."""

    audience = models.ForeignKey(Audience, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="audience_memberships"
    )
    joined_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["audience", "user"], name="audience_member_once"),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.audience}"


class AudienceInvitation(CleanInput, models.Model):
    """An emailed link that makes its holder a member once: `accept` claims it with a
    conditional UPDATE, so two clicks (or two processes) cannot both use it."""

    audience = models.ForeignKey(Audience, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    def __str__(self) -> str:
        return f"{self.email} to {self.audience}"

    def is_usable(self, now: datetime) -> bool:
        return self.accepted_at is None and now < self.expires_at

    def accept(self, user, now: datetime) -> bool:
        """Claim it for `user` and make them a member; False when used or expired."""
        with transaction.atomic():
            claimed = AudienceInvitation.objects.filter(
                id=self.id, accepted_at__isnull=True, expires_at__gt=now
            ).update(accepted_at=now, accepted_by=user)
            if not claimed:
                return False
            AudienceMember.objects.get_or_create(
                audience_id=self.audience_id, user=user, defaults={"joined_at": now}
            )
        return True


class MemberSignInLink(models.Model):
    """A one-time sign-in link a reader of an audience page asked for by email
    (statuspage.public.member_link): the email carries its signed id, and its expiry and its
    single use are this row's (`use`: a conditional UPDATE), so they hold across processes
    and the refusal can say which it was."""

    USABLE, USED, EXPIRED = "usable", "used", "expired"

    audience = models.ForeignKey(Audience, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"sign-in link of {self.user} to {self.audience}"

    def state(self, now: datetime) -> str:
        if self.used_at is not None:
            return self.USED
        return self.USABLE if now < self.expires_at else self.EXPIRED

    def use(self, now: datetime) -> bool:
        """Spend it; False when it was already used or has expired (two clicks, one wins)."""
        spent = MemberSignInLink.objects.filter(
            id=self.id, used_at__isnull=True, expires_at__gt=now
        ).update(used_at=now)
        if spent:
            self.used_at = now
        return bool(spent)
