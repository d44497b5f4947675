"""On-call schedules: rotations hand off at local times across DST, higher layers cover
lower ones, overrides cover everything, and who is on call now and next."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError

from incidents.models import Schedule, ScheduleOverride
from incidents.response.oncall import on_call_now
from tests.incidents.oncall_factories import layer, madrid, person, reading, weekly_schedule

pytestmark = pytest.mark.django_db


@pytest.fixture
def team():
    return person("Ana", 1), person("Ben", 2), person("Cai", 3)


def test_a_weekly_rotation_hands_off_on_monday_at_nine_local_time(team):
    ana, ben, _ = team
    schedule = reading(weekly_schedule(ana, ben))
    assert schedule.on_call_at(madrid(2026, 10, 19, 9, 0)) == ana
    assert schedule.on_call_at(madrid(2026, 10, 26, 8, 59)) == ana
    assert schedule.on_call_at(madrid(2026, 10, 26, 9, 0)) == ben
    assert schedule.on_call_at(madrid(2026, 11, 2, 9, 0)) == ana
    assert schedule.on_call_at(madrid(2026, 10, 19, 8, 59)) is None  # before the start


def test_the_hand_off_stays_at_nine_in_madrid_across_the_autumn_dst_change(team):
    ana, ben, _ = team
    schedule = reading(weekly_schedule(ana, ben))
    # Summer time ended on Sunday 25 October 2026: 09:00 was 07:00 UTC, now it is 08:00 UTC.
    assert schedule.on_call_at(datetime(2026, 10, 26, 7, 30, tzinfo=UTC)) == ana
    assert schedule.on_call_at(datetime(2026, 10, 26, 8, 0, tzinfo=UTC)) == ben
    assert schedule.next_hand_off(madrid(2026, 10, 20, 12, 0)) == (madrid(2026, 10, 26, 9), ben)
    assert madrid(2026, 10, 26, 9).astimezone(UTC).hour == 8


def test_a_daily_rotation_hands_off_at_local_time_across_the_spring_dst_change(team):
    ana, ben, cai = team
    schedule = Schedule.objects.create(name="Nights", time_zone="Europe/Madrid")
    layer(
        schedule,
        [ana, ben, cai],
        rotation="daily",
        hand_off_time=time(20, 0),
        starts_at=madrid(2027, 3, 26, 20, 0),
    )
    schedule = reading(schedule)
    # Summer time begins on Sunday 28 March 2027: 20:00 moves from 19:00 to 18:00 UTC.
    assert schedule.on_call_at(madrid(2027, 3, 27, 19, 59)) == ana
    assert schedule.on_call_at(madrid(2027, 3, 27, 20, 0)) == ben
    assert schedule.on_call_at(datetime(2027, 3, 28, 18, 0, tzinfo=UTC)) == cai
    assert schedule.on_call_at(datetime(2027, 3, 28, 17, 59, tzinfo=UTC)) == ben


def test_a_higher_layer_covers_a_lower_one_only_inside_its_window(team):
    ana, ben, cai = team
    schedule = weekly_schedule(ana)
    layer(
        schedule,
        [cai],
        position=2,
        rotation="daily",
        restrict_weekdays=[0, 1, 2, 3, 4],
        restrict_from=time(9, 0),
        restrict_until=time(17, 0),
    )
    schedule = reading(schedule)
    assert schedule.on_call_at(madrid(2026, 11, 25, 10, 0)) == cai  # a Wednesday, office hours
    assert schedule.on_call_at(madrid(2026, 11, 25, 17, 0)) == ana  # after hours
    assert schedule.on_call_at(madrid(2026, 11, 28, 10, 0)) == ana  # a Saturday
    assert schedule.next_hand_off(madrid(2026, 11, 25, 10, 0)) == (madrid(2026, 11, 25, 17), ana)


def test_an_override_covers_every_layer_for_its_window(team):
    ana, ben, cai = team
    schedule = weekly_schedule(ana, ben)
    ScheduleOverride.objects.create(
        schedule=schedule,
        contact=cai,
        starts_at=madrid(2026, 11, 28, 8, 0),
        ends_at=madrid(2026, 11, 28, 20, 0),
    )
    schedule = reading(schedule)
    saturday = madrid(2026, 11, 28, 12, 0)
    assert schedule.on_call_at(saturday - timedelta(hours=5)) == ben
    assert schedule.on_call_at(saturday) == cai
    assert schedule.on_call_at(madrid(2026, 11, 28, 20, 0)) == ben
    assert schedule.next_hand_off(madrid(2026, 11, 27, 12, 0)) == (madrid(2026, 11, 28, 8), cai)
    assert schedule.next_hand_off(saturday) == (madrid(2026, 11, 28, 20), ben)


def test_who_is_next_skips_hand_offs_to_the_same_person(team):
    ana, *_ = team
    schedule = reading(weekly_schedule(ana))
    assert schedule.next_hand_off(madrid(2026, 11, 25, 10, 0)) is None


def test_reading_a_schedule_asks_the_database_nothing_more(team, django_assert_num_queries):
    schedule = reading(weekly_schedule(*team))
    with django_assert_num_queries(0):
        schedule.on_call_at(madrid(2026, 11, 25, 10, 0))
        schedule.next_hand_off(madrid(2026, 11, 25, 10, 0))


def test_schedules_say_what_is_wrong(team):
    ana, *_ = team
    with pytest.raises(ValidationError) as bad_zone:
        Schedule(name="x", time_zone="Mars/Olympus").full_clean()
    assert "time_zone" in bad_zone.value.message_dict
    schedule = Schedule.objects.create(name="y", time_zone="UTC")
    backwards = ScheduleOverride(
        schedule=schedule,
        contact=ana,
        starts_at=madrid(2026, 11, 28, 8),
        ends_at=madrid(2026, 11, 28, 7),
    )
    with pytest.raises(ValidationError) as wrong:
        backwards.full_clean()
    assert "ends_at" in wrong.value.message_dict


def test_the_demo_schedule_has_someone_on_call_and_can_be_loaded_again():
    from io import StringIO

    from django.core.management import call_command

    from statuspage import clock

    for _ in range(2):
        out = StringIO()
        call_command("load_demo_oncall", stdout=out)
    [schedule] = Schedule.objects.for_reading()
    assert schedule.on_call_at(clock.now()) is not None
    assert "is on call now" in out.getvalue()
    assert schedule.overrides.count() == 1 and schedule.layers.count() == 2


def test_on_call_now_is_each_schedules_person_and_the_roster_when_every_schedule_has_a_gap(team):
    ana, ben, cai = team
    office = Schedule.objects.create(name="Office", time_zone="Europe/Madrid")
    layer(
        office,
        [cai],
        rotation="daily",
        restrict_weekdays=[0, 1, 2, 3, 4],
        restrict_from=time(9, 0),
        restrict_until=time(17, 0),
    )
    with time_machine.travel(madrid(2026, 11, 25, 10, 0), tick=False):  # a Wednesday
        assert on_call_now() == [cai]
    with time_machine.travel(madrid(2026, 11, 28, 10, 0), tick=False):  # a Saturday: a gap
        assert on_call_now() == [ana, ben, cai]
