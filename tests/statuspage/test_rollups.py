"""Results rolled up per minute, hour and day with uptime and latency percentiles; raw rows
expire after the retention period while daily rollups stay; uptime bars never read raw rows."""

from datetime import datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from statuspage.models import CheckResult, ResultRollup
from statuspage.probes.rollups import daily_uptime, purge_expired, roll_up
from tests.clock import NOW
from tests.factories import make_component, make_probe

DAY = NOW.replace(hour=0) - timedelta(days=7)  # midnight UTC, a week before NOW

pytestmark = pytest.mark.django_db


@pytest.fixture
def probe():
    return make_probe(make_component(), "http://127.0.0.1:1/health")


def results(probe, start: datetime, count: int, every: float, latency, failing=lambda n: False):
    CheckResult.objects.bulk_create(
        CheckResult(
            probe=probe,
            checked_at=start + timedelta(seconds=every * n),
            ok=not failing(n),
            latency_ms=latency(n),
        )
        for n in range(count)
    )


def test_minute_rollup_counts_uptime_and_latency_percentiles(probe):
    # 100 checks in one minute: latencies 1..100 ms, the last 5 failing.
    results(probe, DAY, 100, 0.5, latency=lambda n: n + 1, failing=lambda n: n >= 95)
    roll_up(DAY + timedelta(minutes=10))
    minute = ResultRollup.objects.get(period="minute", start=DAY)
    assert (minute.checks, minute.failures, minute.uptime) == (100, 5, 95.0)
    # Percentiles come from 25%-wide buckets: within 25% above the true value.
    assert 50 <= minute.latency_p50 <= 50 * 1.25
    assert 95 <= minute.latency_p95 <= 95 * 1.25
    assert 99 <= minute.latency_p99 <= 99 * 1.25


def test_late_results_get_time_to_arrive_before_their_minute_is_rolled_up(probe):
    results(probe, DAY, 6, 10, latency=lambda n: 20)
    roll_up(DAY + timedelta(seconds=90))
    assert not ResultRollup.objects.exists()
    roll_up(DAY + timedelta(minutes=4))
    assert ResultRollup.objects.filter(period="minute").count() == 1


def test_hours_and_days_add_up_from_smaller_periods(probe):
    # A check every minute for 2 days; 1 failure in every 10; latency cycles 20..300 ms.
    results(
        probe,
        DAY,
        2 * 1440,
        60,
        latency=lambda n: 20 + (n * 7) % 281,
        failing=lambda n: n % 10 == 0,
    )
    for hour in range(0, 60):
        roll_up(DAY + timedelta(hours=hour))
    [day1, day2] = ResultRollup.objects.filter(period="day").order_by("start")
    assert (day1.checks, day1.failures, day1.uptime) == (1440, 144, 90.0)
    assert day2.start == DAY + timedelta(days=1) and day2.checks == 1440
    assert ResultRollup.objects.filter(period="hour").count() == 48
    assert 150 <= day1.latency_p50 <= 200
    assert 280 <= day1.latency_p99 <= 300 * 1.25


def test_rolling_up_twice_changes_nothing(probe):
    results(probe, DAY, 12, 10, latency=lambda n: 20)
    roll_up(DAY + timedelta(minutes=10))
    roll_up(DAY + timedelta(minutes=10))
    assert ResultRollup.objects.filter(period="minute").count() == 2


def test_gaps_without_results_are_skipped(probe):
    results(probe, DAY, 3, 10, latency=lambda n: 20)
    results(probe, DAY + timedelta(hours=5), 3, 10, latency=lambda n: 20)
    roll_up(DAY + timedelta(hours=6))
    starts = list(ResultRollup.objects.filter(period="minute").values_list("start", flat=True))
    assert starts == [DAY, DAY + timedelta(hours=5)]


def test_raw_results_expire_after_retention_and_daily_rollups_stay(probe, settings):
    settings.ENGINE = {**settings.ENGINE, "RAW_RETENTION_DAYS": 14}
    results(probe, DAY, 360, 10, latency=lambda n: 20)
    later = DAY + timedelta(days=2)
    for hour in range(0, 49, 1):
        roll_up(DAY + timedelta(hours=hour))
    assert purge_expired(later) == 0, "within retention nothing goes"
    much_later = DAY + timedelta(days=100)
    results(probe, much_later - timedelta(hours=1), 6, 10, latency=lambda n: 20)
    roll_up(much_later)
    while purge_expired(much_later):
        pass
    assert CheckResult.objects.filter(checked_at__lt=much_later - timedelta(days=14)).count() == 0
    assert CheckResult.objects.count() == 6
    assert ResultRollup.objects.filter(period="day", start=DAY).exists()
    assert not ResultRollup.objects.filter(
        period="minute", start__lt=much_later - timedelta(days=7)
    ).exists()
    assert not ResultRollup.objects.filter(
        period="hour", start__lt=much_later - timedelta(days=90)
    ).exists()


def test_raw_results_not_yet_rolled_up_are_never_purged(probe):
    results(probe, DAY, 6, 10, latency=lambda n: 20)
    roll_up(DAY + timedelta(minutes=5))
    results(probe, DAY + timedelta(days=20), 6, 10, latency=lambda n: 20)
    purge_expired(DAY + timedelta(days=40))
    assert CheckResult.objects.filter(checked_at__gte=DAY + timedelta(days=20)).count() == 6


def test_daily_uptime_reads_rollups_never_raw_results(probe):
    results(probe, DAY, 1440, 60, latency=lambda n: 20, failing=lambda n: n < 144)
    for hour in range(0, 26):
        roll_up(DAY + timedelta(hours=hour))
    with CaptureQueriesContext(connection) as queries:
        uptime = daily_uptime([probe.id], DAY - timedelta(days=89))
    assert uptime == {DAY: 90.0}
    assert not any("checkresult" in q["sql"].lower() for q in queries.captured_queries)


def test_rollups_keep_the_latency_sum_so_hours_and_days_have_exact_means(probe):
    for minute, latency in [(0, 10.5), (1, 30), (61, 200)]:
        results(probe, DAY + timedelta(minutes=minute), 1, 1, lambda n, ms=latency: ms)
    roll_up(DAY + timedelta(days=1, minutes=5))
    assert ResultRollup.objects.get(period="day").latency_sum == 240.5
    hours = dict(ResultRollup.objects.filter(period="hour").values_list("start", "latency_sum"))
    assert hours == {DAY: 40.5, DAY + timedelta(hours=1): 200}


def test_a_rollup_made_before_sums_were_kept_passes_on_an_unknown_sum(probe):
    ResultRollup.objects.create(
        probe=probe,
        period="minute",
        start=DAY,
        checks=2,
        failures=0,
        histogram={"3": 2},
        latency_sum=None,
    )
    results(probe, DAY + timedelta(minutes=1), 1, 1, lambda n: 50)
    roll_up(DAY + timedelta(hours=1, minutes=5))
    hour = ResultRollup.objects.get(period="hour")
    assert (hour.checks, hour.latency_sum) == (3, None), "never a mean that counts them as 0 ms"
