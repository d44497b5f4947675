"""Per-component, per-day uptime: rolled up from the status-change log, read by the page.

A day's bar is coloured by the worst status it saw; its uptime counts major outage as fully
down and partial outage as PARTIAL_WEIGHT down (the convention Statuspage uses), and
maintenance as up. Days are calendar days in the page's time zone (settings.TIME_ZONE).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, Max, Min, OuterRef, Q, Subquery, Sum
from django.utils.formats import date_format

from incidents.models import AffectedComponent, Incident
from statuspage import viewer
from statuspage.models import (
    Audience,
    Component,
    ComponentDay,
    ComponentStatusChange,
)
from statuspage.statuses import ComponentStatus, worst_status

DAYS_SHOWN = 90
DAY_FORMAT = "N j, Y"
REFRESH_EVERY = timedelta(seconds=30)
PARTIAL_WEIGHT = 0.3
DOWN_WEIGHT = {ComponentStatus.MAJOR_OUTAGE: 1.0, ComponentStatus.PARTIAL_OUTAGE: PARTIAL_WEIGHT}


def page_zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def local_day(moment: datetime) -> date:
    return moment.astimezone(page_zone()).date()


def day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=page_zone())


@dataclass
class Timeline:
    """One component's statuses over a window: its status at the start, then each change."""

    start_status: str
    changes: list[tuple[datetime, str]] = field(default_factory=list)

    def segments(self, start: datetime, end: datetime):
        """(from, to, status) pieces covering [start, end)."""
        status, cursor = self.start_status, start
        for at, new in self.changes:
            if at >= end:
                break
            if at > cursor:
                yield cursor, at, status
                cursor = at
            status = new
        if end > cursor:
            yield cursor, end, status


def timelines(components: list[Component], start: datetime, end: datetime) -> dict[int, Timeline]:
    """Statuses of every component across [start, end) in two queries."""
    before = dict(
        Component.objects.annotate(
            last=Subquery(
                ComponentStatusChange.objects.filter(component=OuterRef("pk"), changed_at__lt=start)
                .order_by("-changed_at", "-id")
                .values("new_status")[:1]
            )
        ).values_list("id", "last")
    )
    inside: dict[int, list] = defaultdict(list)
    first_old: dict[int, str] = {}
    for change in ComponentStatusChange.objects.filter(changed_at__gte=start, changed_at__lt=end):
        first_old.setdefault(change.component_id, change.old_status)
        inside[change.component_id].append((change.changed_at, change.new_status))
    return {
        c.id: Timeline(before.get(c.id) or first_old.get(c.id) or c.status, inside[c.id])
        for c in components
    }


def incidents_by_component_day(
    start: datetime,
    end: datetime,
    audience: Audience | None = None,
    components: list[int] | None = None,
) -> dict[tuple[int, date], list]:
    """The published incidents `audience`'s readers may see (the public's by default: what
    the stored rows hold) that touched each component on each day of [start, end)."""
    touching = AffectedComponent.objects.filter(
        Q(incident__resolved_at__isnull=True) | Q(incident__resolved_at__gte=start),
        incident__started_at__lt=end,
        incident__published_at__isnull=False,
        incident__in=Incident.objects.visible_to(audience),
    )
    if components is not None:
        touching = touching.filter(component__in=components)
    links = touching.order_by("incident__started_at").values_list(
        "component_id",
        "incident__public_id",
        "incident__name",
        "incident__started_at",
        "incident__resolved_at",
    )
    found: dict[tuple[int, date], list] = defaultdict(list)
    for component_id, public_id, name, started_at, resolved_at in links:
        first = local_day(max(started_at, start))
        last = local_day(min(resolved_at or end, end) - timedelta(microseconds=1))
        day = first
        while day <= last:
            found[(component_id, day)].append({"id": public_id, "name": name})
            day += timedelta(days=1)
    return found


def rollup_day(
    component: Component, day: date, timeline: Timeline, now: datetime, incidents: list
) -> ComponentDay | None:
    start = max(day_start(day), component.created_at)
    end = min(day_start(day + timedelta(days=1)), now)
    if end <= start:
        return None
    observed = down = 0.0
    seen = []
    for seg_start, seg_end, status in timeline.segments(start, end):
        seconds = (seg_end - seg_start).total_seconds()
        observed += seconds
        down += seconds * DOWN_WEIGHT.get(status, 0.0)
        seen.append(status)
    return ComponentDay(
        component=component,
        day=day,
        worst_status=worst_status(seen),
        observed_seconds=observed,
        down_seconds=down,
        incidents=incidents,
        computed_at=now,
    )


def rollup(first: date, last: date, now: datetime) -> int:
    """(Re)compute every component's rows for days first..last, in a handful of queries."""
    start, end = day_start(first), min(day_start(last + timedelta(days=1)), now)
    components = list(Component.objects.all())
    lines = timelines(components, start, end)
    incidents = incidents_by_component_day(start, end)
    rows = []
    for component in components:
        day = first
        while day <= last:
            row = rollup_day(
                component, day, lines[component.id], now, incidents.get((component.id, day), [])
            )
            if row is not None:
                rows.append(row)
            day += timedelta(days=1)
    ComponentDay.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["component", "day"],
        update_fields=[
            "worst_status",
            "observed_seconds",
            "down_seconds",
            "incidents",
            "computed_at",
        ],
    )
    return len(rows)


class Refresher:
    """Housekeeping: backfill the window once, then keep today (and a just-ended yesterday)
    fresh at most every REFRESH_EVERY, however often the engine calls."""

    def __init__(self) -> None:
        self.last_run: datetime | None = None

    def __call__(self, now: datetime) -> int:
        if self.last_run is not None and now - self.last_run < REFRESH_EVERY:
            return 0
        today = local_day(now)
        if self.last_run is None:
            first = today - timedelta(days=DAYS_SHOWN - 1)
        else:
            first = min(local_day(self.last_run), today)
        self.last_run = now
        return rollup(first, today, now)


refresh_uptime = Refresher()


@dataclass(eq=False)  # hashed by identity: a plain day's bar is one object shared by components
class DayBar:
    day: date
    label: str
    status: str | None = None
    uptime: float | None = None
    incidents: list = field(default_factory=list)

    @property
    def has_news(self) -> bool:
        return bool(self.incidents) or self.status not in (None, ComponentStatus.OPERATIONAL)


@dataclass
class UptimeView:
    bars: list[DayBar]
    uptime: float | None

    @property
    def past(self) -> list[DayBar]:
        return self.bars[:-1]

    @property
    def today(self) -> DayBar:
        return self.bars[-1]


def uptime_percent(observed: float, down: float) -> float | None:
    return 100.0 * max(0.0, 1.0 - down / observed) if observed > 0 else None


@dataclass
class Coverage:
    """One component's rows over the window, summed: totals for its uptime, and which days
    have a row (every day from `first` to `last` when `contiguous`, else `days`)."""

    observed: float
    down: float
    first: date
    last: date
    count: int
    days: set[date] = field(default_factory=set)

    @property
    def contiguous(self) -> bool:
        return self.count == (self.last - self.first).days + 1

    def covers(self, day: date) -> bool:
        if self.contiguous:
            return self.first <= day <= self.last
        return day in self.days


def coverage(rows) -> dict[int, Coverage]:
    """Per component, in one grouped query (and one more only for components with gaps)."""
    sums = {
        row["component_id"]: Coverage(
            row["observed"], row["down"], row["first"], row["last"], row["count"]
        )
        for row in rows.values("component_id")
        .annotate(
            observed=Sum("observed_seconds"),
            down=Sum("down_seconds"),
            first=Min("day"),
            last=Max("day"),
            count=Count("id"),
        )
        .order_by()
    }
    gaps = [cid for cid, c in sums.items() if not c.contiguous]
    for cid, day in rows.filter(component__in=gaps).values_list("component_id", "day").order_by():
        sums[cid].days.add(day)
    return sums


def notable_days(rows) -> list[tuple]:
    """The rows that are not a plain operational day: some downtime, a status other than
    operational, or an incident. On a page at rest, a few out of thousands."""
    plain = Q(worst_status=ComponentStatus.OPERATIONAL, down_seconds=0, observed_seconds__gt=0)
    found = (
        rows.exclude(plain & Q(incidents=[]))
        .values_list(
            "component_id", "day", "worst_status", "observed_seconds", "down_seconds", "incidents"
        )
        .order_by()
    )
    return list(found)


def relisted(bars: list[DayBar], listed: dict[tuple[int, date], list], component: int) -> None:
    """Give each of a component's bars the incidents `listed` for its day, in place (a bar
    whose list changes is a new object: plain days' bars are shared)."""
    for index, bar in enumerate(bars):
        key = (component, bar.day)
        if bar.incidents or key in listed:
            incidents = listed.get(key, [])
            if incidents != bar.incidents:
                bars[index] = DayBar(bar.day, bar.label, bar.status, bar.uptime, incidents)


def uptime_views(components: list[Component], now: datetime) -> dict[int, UptimeView]:
    """DAYS_SHOWN bars per component, oldest first. Plain operational days (most of them)
    are never read row by row: their bars are shared, and the uptime comes from sums, so the
    cost is two queries and a bar object per day and per day with news, not one per
    component and day.
    On an audience's page (statuspage.viewer) the days' incidents are read live, by the
    same rule as every read of the picture: the stored rows hold the public's only, and a
    private incident must show on its audience's bars (one more query).
    Today's bar is never greener than the component is right now."""
    today = local_day(now)
    first = today - timedelta(days=DAYS_SHOWN - 1)
    days = [first + timedelta(days=offset) for offset in range(DAYS_SHOWN)]
    labels = [date_format(day, DAY_FORMAT) for day in days]
    plain_bars = [
        DayBar(day, label, ComponentStatus.OPERATIONAL, 100.0)
        for day, label in zip(days, labels, strict=True)
    ]
    empty_bars = [DayBar(day, label) for day, label in zip(days, labels, strict=True)]
    rows = ComponentDay.objects.filter(
        day__gte=first, day__lte=today, component__in=[c.id for c in components]
    )
    sums = coverage(rows)
    notable: dict[int, list[tuple]] = defaultdict(list)
    for row in notable_days(rows):
        notable[row[0]].append(row)
    audience = viewer.audience()
    listed = None
    if audience is not None:
        ids = [c.id for c in components]
        listed = incidents_by_component_day(day_start(first), now, audience, ids)
    views = {}
    for component in components:
        covered = sums.get(component.id)
        if covered is None:
            bars = list(empty_bars)
        elif covered.contiguous:
            start = max((covered.first - first).days, 0)
            end = (covered.last - first).days + 1
            bars = empty_bars[:start] + plain_bars[start:end] + empty_bars[end:]
        else:
            bars = [
                plain_bars[i] if covered.covers(day) else empty_bars[i]
                for i, day in enumerate(days)
            ]
        for _, day, status, seen, lost, incidents in notable[component.id]:
            index = (day - first).days
            bars[index] = DayBar(day, labels[index], status, uptime_percent(seen, lost), incidents)
        if listed is not None:
            relisted(bars, listed, component.id)
        today_bar = bars[-1]
        bars[-1] = DayBar(
            today_bar.day,
            today_bar.label,
            worst_status([s for s in (today_bar.status, component.status) if s]),
            today_bar.uptime,
            today_bar.incidents,
        )
        total = uptime_percent(covered.observed, covered.down) if covered else None
        views[component.id] = UptimeView(bars, total)
    return views
