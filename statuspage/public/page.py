"""What the public page shows, gathered in a fixed number of queries whatever the number of
components or incidents: the Snapshot (shared with the API), uptime bars, response times,
when each component was last checked, and recent history."""

from __future__ import annotations

from collections import OrderedDict, defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

from django.core.cache import cache
from django.db.models import CharField, Max, Prefetch, Q, Sum
from django.db.models.functions import Cast, Substr
from django.urls import reverse
from django.utils.safestring import SafeString

from incidents.models import Incident, IncidentUpdate
from statuspage.models import Component, ComponentStatus, Probe, ResultRollup, RollupPeriod
from statuspage.picture.maintenance import current_windows
from statuspage.picture.summary import Snapshot, build_snapshot, with_timeline
from statuspage.picture.uptime import UptimeView, day_start, local_day, uptime_views
from statuspage.public.bars import BarStrips

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

CHART_HOURS = 24
CHART_WIDTH, CHART_HEIGHT = 240, 40
RECENT_DAYS = 7
LATENCY_CACHE_SECONDS = 60


@dataclass
class LatencyChart:
    points: str
    average_ms: float
    peak_ms: float


def latency_charts(now: datetime) -> dict[int, LatencyChart]:
    """Hourly charts change slowly: computed at most once a minute per process."""
    key = f"latency-charts:{now:%Y%m%d%H%M}"
    charts = cache.get(key)
    if charts is None:
        charts = compute_latency_charts(now)
        cache.set(key, charts, LATENCY_CACHE_SECONDS)
    return charts


def compute_latency_charts(now: datetime) -> dict[int, LatencyChart]:
    """Mean response time per hour over the last day, per component, from rollups in one
    query: hourly rollups, and for the last two hours (not rolled up into an hour yet, or
    only just) the minute rollups, summed per hour in SQL. Results of the last couple of
    minutes, not rolled up yet, wait for the next minute's chart."""
    start = (now.astimezone(UTC) - timedelta(hours=CHART_HOURS - 1)).replace(
        minute=0, second=0, microsecond=0
    )
    recent = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    hours_by_key = {
        (start + timedelta(hours=n)).strftime(HOUR_KEY_FORMAT): start + timedelta(hours=n)
        for n in range(CHART_HOURS)
    }
    rows = (
        ResultRollup.objects.filter(
            Q(period=RollupPeriod.HOUR, start__gte=start)
            | Q(period=RollupPeriod.MINUTE, start__gte=recent),
            start__lte=now,
            latency_sum__isnull=False,
        )
        .annotate(hour=hour_key())
        .values_list("probe__component_id", "period", "hour")
        .annotate(checks=Sum("checks"), total=Sum("latency_sum"))
        .order_by()
    )
    means: dict[int, dict[datetime, dict[str, float]]] = defaultdict(lambda: defaultdict(dict))
    for component_id, period, key, checks, total in rows:
        hour = hours_by_key.get(key)
        if checks and hour is not None:
            means[component_id][hour][period] = total / checks
    return {
        cid: chart(
            start,
            {
                hour: by[RollupPeriod.HOUR] if RollupPeriod.HOUR in by else by[RollupPeriod.MINUTE]
                for hour, by in hours.items()
            },
        )
        for cid, hours in means.items()
    }


# 'YYYY-MM-DD HH': how both SQLite and PostgreSQL (its sessions are in UTC) begin a UTC time
# written as text.
HOUR_KEY_FORMAT = "%Y-%m-%d %H"


def hour_key() -> Substr:
    """The UTC hour a rollup falls in, as text ('YYYY-MM-DD HH'), grouped in SQL: minute
    rollups add up per hour, and no row pays for turning a timestamp into a datetime in
    Python (on SQLite, a parse per row: most of the chart's cost at 100 components)."""
    return Substr(Cast("start", CharField()), 1, 13)


def chart(start: datetime, hours: dict[datetime, float]) -> LatencyChart:
    peak = max(hours.values()) or 1.0
    step = CHART_WIDTH / (CHART_HOURS - 1)
    points = []
    for n in range(CHART_HOURS):
        value = hours.get(start + timedelta(hours=n))
        if value is not None:
            y = CHART_HEIGHT - 2 - (CHART_HEIGHT - 4) * value / peak
            points.append(f"{n * step:.1f},{y:.1f}")
    average = sum(hours.values()) / len(hours)
    return LatencyChart(" ".join(points), average, peak)


def last_checked() -> dict[int, datetime]:
    rows = (
        Probe.objects.filter(enabled=True, last_checked_at__isnull=False)
        .values("component_id")
        .annotate(last=Max("last_checked_at"))
        .order_by()
    )
    return {row["component_id"]: row["last"] for row in rows}


@dataclass
class ComponentRow:
    component: Component
    uptime: UptimeView
    latency: LatencyChart | None
    last_checked_at: datetime | None
    bars: SafeString
    rss_url: str = ""
    atom_url: str = ""


@dataclass
class GroupRows:
    group: object
    status: str
    rows: list[ComponentRow]
    status_unknown: bool = False

    @property
    def status_label(self) -> StrOrPromise:
        return ComponentStatus(self.status).label


@dataclass
class PageView:
    snapshot: Snapshot
    groups: list[GroupRows]
    ungrouped: list[ComponentRow]
    recent: list[Incident]
    now: datetime
    maintenance: list[Incident]


def recent_resolved(now: datetime) -> list[Incident]:
    since = now - timedelta(days=RECENT_DAYS)
    return list(
        with_timeline(
            Incident.objects.public().filter(resolved_at__gte=since).order_by("-resolved_at")
        )
    )


STAND_IN_ID = "0component0id0"


def feed_url_patterns() -> tuple[str, str]:
    """A component's feed URLs, reversed once per page with a stand-in id: reversing costs
    about as much as rendering a component's row, and the page links two per component."""
    return (
        reverse("component-history-rss", args=[STAND_IN_ID]),
        reverse("component-history-atom", args=[STAND_IN_ID]),
    )


def build_page(now: datetime) -> PageView:
    snapshot = build_snapshot()
    visible = [c for c in snapshot.components if c.showcase]
    uptimes = uptime_views(visible, now)
    charts = latency_charts(now)
    checked = last_checked()
    strips = BarStrips()
    rss, atom = feed_url_patterns()

    def row(component: Component) -> ComponentRow:
        uptime = uptimes[component.id]
        return ComponentRow(
            component,
            uptime,
            charts.get(component.id),
            checked.get(component.id),
            strips.strip(uptime.bars),
            rss.replace(STAND_IN_ID, component.public_id),
            atom.replace(STAND_IN_ID, component.public_id),
        )

    def shown(component: Component) -> bool:
        return component.showcase and (
            not component.only_show_if_degraded
            or component.status != "operational"
            or component.status_unknown
        )

    groups = [
        GroupRows(g.group, g.status, [row(c) for c in g.components if shown(c)], g.status_unknown)
        for g in snapshot.groups
    ]
    return PageView(
        snapshot,
        [g for g in groups if g.rows],
        [row(c) for c in snapshot.ungrouped if shown(c)],
        recent_resolved(now),
        now,
        current_windows(),
    )


def newest_updates_first() -> Prefetch:
    """The history lists each incident with its latest update only: no components to read."""
    return Prefetch("updates", queryset=IncidentUpdate.objects.order_by("-display_at", "-id"))


def history_months(now: datetime, months: int = 3, before: date | None = None):
    """Incidents by calendar month, newest month first, every month listed even when quiet."""
    end_month = (before or local_day(now)).replace(day=1)
    firsts = [end_month]
    while len(firsts) < months:
        previous = firsts[-1] - timedelta(days=1)
        firsts.append(previous.replace(day=1))
    after_end = (end_month + timedelta(days=32)).replace(day=1)
    incidents = (
        Incident.objects.public()
        .filter(started_at__gte=day_start(firsts[-1]), started_at__lt=day_start(after_end))
        .order_by("-started_at")
        .prefetch_related(newest_updates_first())
    )
    by_month: OrderedDict[date, list[Incident]] = OrderedDict((m, []) for m in firsts)
    for incident in incidents:
        month = local_day(incident.started_at).replace(day=1)
        if month in by_month:
            by_month[month].append(incident)
    older = firsts[-1] - timedelta(days=1)
    return list(by_month.items()), older.replace(day=1)
