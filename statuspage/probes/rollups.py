"""Roll raw check results up per minute, hour and day, and expire what is no longer needed.

Run from the engine's housekeeping every few seconds; each call does a bounded amount of
work and picks up where the stored rollups end, so a stopped engine catches up later.
Raw results live ENGINE["RAW_RETENTION_DAYS"], minutes a week, hours 90 days, days forever.
Readers (uptime bars, the page's response-time chart) read rollups, never raw results.
"""

from __future__ import annotations

import bisect
import math
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Min

from statuspage.models import CheckResult, ResultRollup, RollupPeriod

LENGTH: dict[str, timedelta] = {
    RollupPeriod.MINUTE: timedelta(minutes=1),
    RollupPeriod.HOUR: timedelta(hours=1),
    RollupPeriod.DAY: timedelta(days=1),
}
SOURCE: dict[str, str] = {
    RollupPeriod.HOUR: RollupPeriod.MINUTE,
    RollupPeriod.DAY: RollupPeriod.HOUR,
}
KEEP: dict[str, timedelta] = {
    RollupPeriod.MINUTE: timedelta(days=7),
    RollupPeriod.HOUR: timedelta(days=90),
}
# Results are stamped when their check starts and stored when it ends (up to its timeout).
LATE_RESULTS = timedelta(seconds=130)
MAX_BUCKETS_PER_CALL = 60
DELETE_BATCH = 5000
# Upper bounds (ms) of the latency buckets: 25% apart from 1 ms to about 2 minutes.
BOUNDS = [round(1.25**i, 1) for i in range(53)]


def bucket_of(latency_ms: float) -> int:
    return min(bisect.bisect_left(BOUNDS, latency_ms), len(BOUNDS) - 1)


def percentile(histogram: dict[str, int], q: float) -> float | None:
    """The upper bound of the bucket holding the q-th quantile (within 25% of the truth)."""
    total = sum(histogram.values())
    if not total:
        return None
    rank, seen = math.ceil(q * total), 0
    for index in sorted(histogram, key=int):
        seen += histogram[index]
        if seen >= rank:
            return BOUNDS[int(index)]
    return BOUNDS[-1]


def floor(moment: datetime, period: str) -> datetime:
    if period == RollupPeriod.MINUTE:
        return moment.replace(second=0, microsecond=0)
    if period == RollupPeriod.HOUR:
        return moment.replace(minute=0, second=0, microsecond=0)
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


class Tally:
    def __init__(self) -> None:
        self.checks = self.failures = 0
        self.latency_sum: float | None = 0.0
        self.histogram: dict[str, int] = defaultdict(int)

    def add_result(self, ok: bool, latency_ms: float) -> None:
        self.checks += 1
        self.failures += not ok
        if self.latency_sum is not None:  # None only comes from rollups, never mixed in here
            self.latency_sum += latency_ms
        self.histogram[str(bucket_of(latency_ms))] += 1

    def add_rollup(self, rollup: ResultRollup) -> None:
        self.checks += rollup.checks
        self.failures += rollup.failures
        if self.latency_sum is not None:
            self.latency_sum = (
                None if rollup.latency_sum is None else self.latency_sum + rollup.latency_sum
            )
        for index, count in rollup.histogram.items():
            self.histogram[index] += count

    def rollup(self, probe_id: int, period: str, start: datetime) -> ResultRollup:
        histogram = dict(self.histogram)
        return ResultRollup(
            probe_id=probe_id,
            period=period,
            start=start,
            checks=self.checks,
            failures=self.failures,
            histogram=histogram,
            latency_sum=self.latency_sum,
            latency_p50=percentile(histogram, 0.50),
            latency_p95=percentile(histogram, 0.95),
            latency_p99=percentile(histogram, 0.99),
        )


TALLIED = ("probe_id", "checks", "failures", "latency_sum", "histogram")


def tally_bucket(period: str, start: datetime, end: datetime) -> dict[int, Tally]:
    tallies: dict[int, Tally] = defaultdict(Tally)
    if period == RollupPeriod.MINUTE:
        results = CheckResult.objects.filter(checked_at__gte=start, checked_at__lt=end)
        for probe_id, ok, latency in results.values_list("probe_id", "ok", "latency_ms").iterator():
            tallies[probe_id].add_result(ok, latency)
    else:
        rollups = ResultRollup.objects.filter(
            period=SOURCE[period], start__gte=start, start__lt=end
        )
        for rollup in rollups.only(*TALLIED):
            tallies[rollup.probe_id].add_rollup(rollup)
    return tallies


def first_pending(period: str, after: datetime | None = None) -> datetime | None:
    """The start of the first bucket with source data that has not been rolled up."""
    if after is None:
        done = (
            ResultRollup.objects.filter(period=period)
            .order_by("-start")
            .values_list("start", flat=True)
            .first()
        )
        after = done + LENGTH[period] if done else None
    if period == RollupPeriod.MINUTE:
        results = CheckResult.objects.all()
        if after:
            results = results.filter(checked_at__gte=after)
        first = results.aggregate(first=Min("checked_at"))["first"]
    else:
        rollups = ResultRollup.objects.filter(period=SOURCE[period])
        if after:
            rollups = rollups.filter(start__gte=after)
        first = rollups.aggregate(first=Min("start"))["first"]
    return floor(first, period) if first else None


def roll_up_period(period: str, now: datetime) -> int:
    """Roll up the completed buckets of one period; returns how many rows were written."""
    ready_before = floor(now - LATE_RESULTS, RollupPeriod.MINUTE)
    if period != RollupPeriod.MINUTE:
        ready_before = floor(ready_before, period)
    start = first_pending(period)
    written = 0
    for _ in range(MAX_BUCKETS_PER_CALL):
        if start is None or start + LENGTH[period] > ready_before:
            break
        end = start + LENGTH[period]
        rows = [t.rollup(pid, period, start) for pid, t in tally_bucket(period, start, end).items()]
        ResultRollup.objects.bulk_create(rows, ignore_conflicts=True)
        written += len(rows)
        start = end if rows else first_pending(period, after=end)
    return written


def roll_up(now: datetime) -> int:
    """Housekeeping job: minutes from raw results, hours from minutes, days from hours."""
    return sum(
        roll_up_period(p, now) for p in (RollupPeriod.MINUTE, RollupPeriod.HOUR, RollupPeriod.DAY)
    )


def delete_in_batches(queryset) -> int:
    ids = list(queryset.values_list("id", flat=True)[:DELETE_BATCH])
    return queryset.model.objects.filter(id__in=ids).delete()[0] if ids else 0


def purge_expired(now: datetime) -> int:
    """Housekeeping job: drop raw results past retention (after they were rolled up) and
    minute/hour rollups past theirs. Daily rollups are kept forever."""
    raw_days = settings.ENGINE["RAW_RETENTION_DAYS"]
    cutoff = now - timedelta(days=raw_days)
    rolled = (
        ResultRollup.objects.filter(period=RollupPeriod.MINUTE)
        .order_by("-start")
        .values_list("start", flat=True)
        .first()
    )
    if rolled is not None:
        cutoff = min(cutoff, rolled)
    deleted = delete_in_batches(CheckResult.objects.filter(checked_at__lt=cutoff))
    for period, keep in KEEP.items():
        deleted += delete_in_batches(
            ResultRollup.objects.filter(period=period, start__lt=now - keep)
        )
    return deleted


def daily_uptime(probe_ids: Iterable[int], since: datetime) -> dict[datetime, float | None]:
    """Uptime per day over the given probes, from daily rollups only (never raw results)."""
    days: dict[datetime, Tally] = defaultdict(Tally)
    for rollup in ResultRollup.objects.filter(
        period=RollupPeriod.DAY, probe_id__in=list(probe_ids), start__gte=since
    ).only("start", *TALLIED):
        days[rollup.start].add_rollup(rollup)
    return {
        day: round(100 * (t.checks - t.failures) / t.checks, 3) if t.checks else None
        for day, t in sorted(days.items())
    }
