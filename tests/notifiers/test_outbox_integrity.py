"""The outbox's keys (announcement, subscriber) have no database constraint (checking them
cost more than writing the row), so what a delete racing a fan-out could leave behind is
handled by the code that writes and reads the rows: nothing is written for a deleted
announcement, rows left by one are removed, and a vanished subscriber breaks no batch."""

from __future__ import annotations

from datetime import timedelta

import pytest

from incidents.models import Incident
from notifiers.delivery import dispatch
from notifiers.models import Announcement, Delivery, DeliveryState, Recipients, Subscriber
from tests.clock import NOW
from tests.factories import add_update, announce_email, make_incident, subscribe

pytestmark = pytest.mark.django_db


def test_a_fan_out_stops_without_writing_rows_once_its_incident_is_deleted(component, monkeypatch):
    for n in range(6):
        subscribe("email", f"p{n}@example.org")
    announcement = announce_email(component)
    monkeypatch.setattr(dispatch, "FAN_OUT_CHUNK", 2)
    queue_send = dispatch.queue_send

    def staff_delete_the_incident_after_the_first_chunk(announcement_id, now):
        queued = queue_send(announcement_id, now)
        Incident.objects.all().delete()
        return queued

    monkeypatch.setattr(dispatch, "queue_send", staff_delete_the_incident_after_the_first_chunk)
    assert dispatch.fan_out(announcement.id) == 0
    assert not Announcement.objects.exists()
    assert not Delivery.objects.exists()


def test_the_sweep_deletes_rows_left_by_a_deleted_announcement_and_queues_nothing_for_them(
    component,
):
    subscribe("email", "person@example.org")
    kept = announce_email(component)
    dispatch.fan_out(kept.id)
    gone = announce_email(component)
    dispatch.fan_out(gone.id)
    Announcement.objects.filter(id=gone.id)._raw_delete(
        Announcement.objects.db
    )  # what a racing delete leaves
    Announcement.objects.filter(id=kept.id).update(send_queued_at=None)

    assert dispatch.retry_due(NOW + timedelta(minutes=1)) == 1
    assert not Delivery.objects.filter(announcement_id=gone.id).exists()
    assert kept.deliveries.get().state == DeliveryState.PENDING


def test_a_row_whose_subscriber_vanished_is_claimed_as_one_without_a_subscriber(component):
    person = subscribe("email", "person@example.org")
    announcement = announce_email(component)
    dispatch.fan_out(announcement.id)
    Subscriber.objects.filter(id=person.id)._raw_delete(Subscriber.objects.db)

    [claimed] = announcement.deliveries.claim_due(NOW + timedelta(minutes=1), 10)
    assert (claimed.target, claimed.subscriber_id, claimed.subscriber) == (
        "person@example.org",
        person.id,
        None,
    )


@pytest.mark.parametrize(
    "channel, address",
    [("email", "p{}@example.org"), ("sms", "+1415555020{}")],
    ids=["copied-by-the-database", "paced-written-from-python"],
)
def test_a_fan_out_task_stops_where_another_task_of_the_announcement_moved_the_cursor_on(
    component, monkeypatch, channel, address
):
    """A fan-out re-queued by the sweep beside a slow one: each chunk is written by the
    task that moves the cursor on from where it found it; the other stops, writing nothing."""
    people = [subscribe(channel, address.format(n)) for n in range(4)]
    update = add_update(make_incident(component), "opened")
    announcement = dispatch.announce(update, channel, Recipients.SUBSCRIBERS, None, NOW)
    monkeypatch.setattr(dispatch, "FAN_OUT_CHUNK", 2)
    queue_send = dispatch.queue_send

    def other_task_writes_the_second_chunk_meanwhile(announcement_id, now):
        Announcement.objects.filter(id=announcement_id).update(fan_out_cursor=people[-1].id)
        return queue_send(announcement_id, now)

    monkeypatch.setattr(dispatch, "queue_send", other_task_writes_the_second_chunk_meanwhile)
    assert dispatch.fan_out(announcement.id) == 0
    assert sorted(announcement.deliveries.values_list("subscriber_id", flat=True)) == [
        p.id for p in people[:2]
    ]
    assert Announcement.objects.get(id=announcement.id).fanned_out_at is None, (
        "the other task finishes it"
    )


def test_a_chunk_holding_a_row_already_is_written_again_keeping_that_row(component):
    people = [subscribe("email", f"p{n}@example.org") for n in range(3)]
    announcement = announce_email(component)
    Delivery.objects.create(
        announcement=announcement,
        channel="email",
        target=people[1].address,
        subscriber=people[1],
        next_attempt_at=NOW,
        created_at=NOW,
        provider_status="kept",
    )
    assert dispatch.fan_out(announcement.id) == 3
    rows = {d.subscriber_id: d.provider_status for d in announcement.deliveries.all()}
    assert rows == {people[0].id: "", people[1].id: "kept", people[2].id: ""}
