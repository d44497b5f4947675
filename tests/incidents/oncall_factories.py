"""Schedules and people for the on-call tests: a weekly Madrid rotation of Ana and Ben."""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

from incidents.models import LayerMember, OnCallContact, Schedule, ScheduleLayer

MADRID = ZoneInfo("Europe/Madrid")


def person(name: str, number: int) -> OnCallContact:
    return OnCallContact.objects.create(
        name=name, phone=f"+3460000{number:04d}", email=f"{name.lower()}@example.org"
    )


def madrid(*args: int) -> datetime:
    return datetime(*args, tzinfo=MADRID)


def layer(schedule, people, position=1, **fields) -> ScheduleLayer:
    fields.setdefault("starts_at", madrid(2026, 10, 19, 9, 0))  # a Monday
    made = ScheduleLayer.objects.create(schedule=schedule, position=position, **fields)
    for n, contact in enumerate(people):
        LayerMember.objects.create(layer=made, contact=contact, position=n)
    return made


def weekly_schedule(*people, name="Follow service", hand_off=time(9, 0)) -> Schedule:
    schedule = Schedule.objects.create(name=name, time_zone="Europe/Madrid")
    layer(schedule, people, rotation="weekly", hand_off_weekday=0, hand_off_time=hand_off)
    return schedule


def reading(schedule: Schedule) -> Schedule:
    return Schedule.objects.for_reading().get(id=schedule.id)
