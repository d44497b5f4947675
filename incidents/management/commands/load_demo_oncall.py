"""A small on-call schedule for the demo: Ana and Ben alternate weeks in Madrid (Monday
09:00), Cai covers weekday office hours above them, and Dee covers next Saturday daytime."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django.core.management.base import BaseCommand
from django.db import transaction

from incidents.models import LayerMember, OnCallContact, Schedule, ScheduleLayer, ScheduleOverride
from statuspage import clock

NAME = "Follow service (demo)"
PEOPLE = [
    ("Ana", "+34600000001", "ana@example.org"),
    ("Ben", "+34600000002", "ben@example.org"),
    ("Cai", "+34600000003", "cai@example.org"),
    ("Dee", "+34600000004", "dee@example.org"),
]


class Command(BaseCommand):
    help = "Create (or recreate) a small demo on-call schedule in Europe/Madrid."

    @transaction.atomic
    def handle(self, *args, **options) -> None:
        ana, ben, cai, dee = (
            OnCallContact.objects.get_or_create(name=n, defaults={"phone": p, "email": e})[0]
            for n, p, e in PEOPLE
        )
        Schedule.objects.filter(name=NAME).delete()
        schedule = Schedule.objects.create(name=NAME, time_zone="Europe/Madrid")
        zone = schedule.zone
        today = clock.now().astimezone(zone).date()
        monday = today - timedelta(days=today.weekday())
        start = datetime.combine(monday, time(9, 0), tzinfo=zone)
        weeks = ScheduleLayer.objects.create(
            schedule=schedule, position=1, name="Weeks", starts_at=start
        )
        office = ScheduleLayer.objects.create(
            schedule=schedule,
            position=2,
            name="Office hours",
            rotation=ScheduleLayer.Rotation.DAILY,
            starts_at=start,
            restrict_weekdays=[0, 1, 2, 3, 4],
            restrict_from=time(9, 0),
            restrict_until=time(17, 0),
        )
        LayerMember.objects.bulk_create(
            [
                LayerMember(layer=weeks, contact=ana, position=0),
                LayerMember(layer=weeks, contact=ben, position=1),
                LayerMember(layer=office, contact=cai, position=0),
            ]
        )
        saturday = monday + timedelta(days=5 if today.weekday() < 5 else 12)
        ScheduleOverride.objects.create(
            schedule=schedule,
            contact=dee,
            starts_at=datetime.combine(saturday, time(8, 0), tzinfo=zone),
            ends_at=datetime.combine(saturday, time(20, 0), tzinfo=zone),
        )
        schedule = Schedule.objects.for_reading().get(id=schedule.id)
        now = clock.now()
        upcoming = schedule.next_hand_off(now)
        self.stdout.write(f"{NAME}: {schedule.on_call_at(now)} is on call now")
        if upcoming:
            self.stdout.write(f"next: {upcoming[1]} from {upcoming[0].isoformat()}")
