"""The outbox's keys (announcement, subscriber) have no database constraint (checking them
cost more than writing the row), so what a delete racing a fan-out could leave behind is
handled by the code that writes and reads the rows: nothing is written for a deleted
announcement, rows left by one are removed, and a vanished subscriber breaks no batch."""

from __future__ import annotations

from datetime import timedelta

import pytest

from incidents.models import Incident
from notifiers import dispatch
from notifiers.models import Announcement, Delivery, DeliveryState, Recipients, Subscriber
from tests.notifiers.conftest import T0, add_update, make_incident, subscribe

pytestmark = pytest.mark.django_db


def announce_email(component) -> Announcement:
    update = add_update(make_incident(component), "opened")
    return dispatch.announce(update, "email", Recipients.SUBSCRIBERS, None, T0)


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


def test_the_sweep_deletes_rows_left_by_a_deleted_announcement_and_queues_nothing_for_them(component):
    subscribe("email", "person@example.org")
    kept = announce_email(component)
    dispatch.fan_out(kept.id)
    gone = announce_email(component)
    dispatch.fan_out(gone.id)
    Announcement.objects.filter(id=gone.id)._raw_delete(Announcement.objects.db)  # what a racing delete leaves
    Announcement.objects.filter(id=kept.id).update(send_queued_at=None)

    assert dispatch.retry_due(T0 + timedelta(minutes=1)) == 1
    assert not Delivery.objects.filter(announcement_id=gone.id).exists()
    assert kept.deliveries.get().state == DeliveryState.PENDING


def test_a_row_whose_subscriber_vanished_is_claimed_as_one_without_a_subscriber(component):
    person = subscribe("email", "person@example.org")
    announcement = announce_email(component)
    dispatch.fan_out(announcement.id)
    Subscriber.objects.filter(id=person.id)._raw_delete(Subscriber.objects.db)

    [claimed] = announcement.deliveries.claim_due(T0 + timedelta(minutes=1), 10)
    assert (claimed.target, claimed.subscriber_id, claimed.subscriber) == ("person@example.org", person.id, None)
