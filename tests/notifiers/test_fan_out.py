"""Fan-out writes the outbox in the database: each chunk of subscribers is one INSERT ...
SELECT, so its cost does not grow with the rows it writes, and it reaches exactly the
people the announcement is for."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from notifiers.delivery import dispatch
from notifiers.models import Delivery, DeliveryState, Recipients
from notifiers.registry import TransientError, get_channel
from tests.clock import NOW
from tests.factories import add_update, announce_email, make_component, make_incident, subscribe

pytestmark = pytest.mark.django_db


def email_fanned_out_at_now(component, subscribers: int):
    """An email announcement to `subscribers` people, its rows written at NOW exactly."""
    for n in range(subscribers):
        subscribe("email", f"p{n}@example.org")
    with time_machine.travel(NOW, tick=False):
        announcement = announce_email(component)
        dispatch.fan_out(announcement.id)
    return announcement


def queries_to_fan_out(announcement) -> int:
    with CaptureQueriesContext(connection) as queries:
        dispatch.fan_out(announcement.id)
    return len(queries)


def test_fanning_out_to_fifty_costs_the_queries_of_fanning_out_to_five(component):
    few = [subscribe("email", f"few{n}@example.org") for n in range(5)]
    first = queries_to_fan_out(announce_email(component))
    for n in range(45):
        subscribe("email", f"many{n}@example.org")
    second = queries_to_fan_out(announce_email(component))
    assert first == second
    assert Delivery.objects.count() == len(few) + 50


def test_fan_out_reaches_confirmed_unsuppressed_followers_of_the_incident_only(component):
    other = make_component("Share upload")
    everything = subscribe("email", "all@example.org")
    follower = subscribe("email", "follows@example.org", components=[component])
    subscribe("email", "other@example.org", components=[other])
    subscribe("email", "pending@example.org", confirmed=False)
    subscribe("email", "gone@example.org", suppressed_at=NOW, suppression="bounce")
    subscribe("sms", "+14155550100")
    with time_machine.travel(NOW, tick=False):
        announcement = announce_email(component)
        dispatch.fan_out(announcement.id)
    rows = Delivery.objects.filter(announcement=announcement).order_by("subscriber_id")
    assert [(d.target, d.subscriber_id) for d in rows] == [
        ("all@example.org", everything.id),
        ("follows@example.org", follower.id),
    ]
    assert {(d.state, d.channel, d.attempts, d.next_attempt_at) for d in rows} == {
        (DeliveryState.PENDING, "email", 0, NOW)
    }


ADDRESSES = {
    "email": lambda n: f"p{n}@example.org",
    "sms": lambda n: f"+1415555{n:04d}",
    "push": lambda n: f"fid-{n}",
}


def queries_to_send(announcement, traveller) -> int:
    dispatch.fan_out(announcement.id)
    traveller.shift(60)  # past every paced send slot
    with CaptureQueriesContext(connection) as queries:
        dispatch.send_due(announcement.id)
    assert set(announcement.deliveries.values_list("state", flat=True)) == {DeliveryState.SENT}
    return len(queries)


@pytest.mark.parametrize("channel", sorted(ADDRESSES))
def test_sending_a_full_batch_costs_the_queries_of_a_batch_of_five(channel, component, sandbox):
    """Claimed rows carry what the channel reads: no query per delivery or subscriber."""
    full = min(get_channel(channel).batch_size, 50)
    for n in range(5):
        subscribe(channel, ADDRESSES[channel](n))
    with time_machine.travel(NOW, tick=False) as traveller:
        first = dispatch.announce(
            add_update(make_incident(component), "opened"),
            channel,
            Recipients.SUBSCRIBERS,
            None,
            NOW,
        )
        five = queries_to_send(first, traveller)
        for n in range(5, full):
            subscribe(channel, ADDRESSES[channel](n))
        second = dispatch.announce(
            add_update(make_incident(component), "opened"),
            channel,
            Recipients.SUBSCRIBERS,
            None,
            NOW,
        )
        assert (
            queries_to_send(second, traveller) <= five
        )  # the first also creates the provider's state row


@pytest.mark.skipif(connection.vendor != "sqlite", reason="reads SQLite's query plan")
def test_a_fan_out_chunk_reads_subscribers_in_index_order_without_sorting_them(component):
    """A chunk is `id > cursor ORDER BY id LIMIT n`: if the database must sort (or
    de-duplicate) every remaining subscriber first, each chunk costs in proportion to the
    subscriber count and a million-subscriber fan-out takes minutes."""
    from notifiers.channels.context import SubscriberTargets

    announcement = announce_email(component)
    ids = SubscriberTargets(announcement, "email").subscribers.values_list("id", flat=True)
    sql, params = ids.filter(id__gt=0)[:2000].query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
        plan = " / ".join(row[-1] for row in cursor.fetchall())
    assert "TEMP B-TREE" not in plan, plan


@pytest.mark.skipif(connection.vendor != "sqlite", reason="reads SQLite's query plan")
def test_claiming_a_batch_updates_the_batch_by_id_not_every_pending_row_by_state(component):
    """Given `state = pending` beside the batch's subquery, SQLite walked every pending row
    of the outbox through the state index to find the thousand it claims."""
    for n in range(3):
        subscribe("email", f"p{n}@example.org")
    announcement = announce_email(component)
    with time_machine.travel(NOW, tick=False):
        dispatch.fan_out(announcement.id)
    with CaptureQueriesContext(connection) as queries:
        assert len(announcement.deliveries.claim_due(NOW, 2)) == 2
    [update] = [q["sql"] for q in queries if q["sql"].startswith("UPDATE")]
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN QUERY PLAN {update}")
        outer = cursor.fetchall()[0][-1]
    assert "PRIMARY KEY" in outer, outer


def test_a_batch_recorded_by_its_claim_token_leaves_rows_claimed_by_another_worker_alone(component):
    announcement = email_fanned_out_at_now(component, 4)
    mine = announcement.deliveries.claim_due(NOW, 2)
    theirs = announcement.deliveries.claim_due(NOW, 2)
    results = [dispatch.SendResult(d.id, provider_id="msg-1") for d in mine]
    dispatch.record_results(announcement, mine, results, NOW)
    states = dict(Delivery.objects.values_list("id", "state"))
    assert {states[d.id] for d in mine} == {DeliveryState.SENT}
    assert {states[d.id] for d in theirs} == {DeliveryState.SENDING}
    sent = Delivery.objects.get(id=mine[0].id)
    assert (sent.provider_message_id, sent.sent_at, sent.claim_token, sent.next_attempt_at) == (
        "msg-1",
        NOW,
        None,
        NOW,
    )


def test_each_row_of_a_batch_keeps_its_own_message_id_and_segments_unless_another_worker_holds_it(
    component,
):
    """Per-row outcomes (one message id and segment count per text) are written in one
    statement on PostgreSQL; a row whose lease ran out and was claimed again is skipped."""
    announcement = email_fanned_out_at_now(component, 3)
    batch = announcement.deliveries.claim_due(NOW, 3)
    Delivery.objects.filter(id=batch[2].id).update(claim_token=uuid.uuid4())  # re-claimed elsewhere
    for n, delivery in enumerate(batch):
        delivery.segments = n + 1
    results = [dispatch.SendResult(d.id, provider_id=f"SM{n}") for n, d in enumerate(batch)]
    dispatch.record_results(announcement, batch, results, NOW)
    rows = {d.id: d for d in Delivery.objects.all()}
    assert [
        (rows[d.id].state, rows[d.id].provider_message_id, rows[d.id].segments) for d in batch
    ] == [
        (DeliveryState.SENT, "SM0", 1),
        (DeliveryState.SENT, "SM1", 2),
        (DeliveryState.SENDING, "", 0),
    ]


def test_a_retry_time_is_saved_per_row_and_a_sent_row_keeps_its_send_slot(component):
    """A claimed row does not read its next_attempt_at back: a row that was sent keeps the
    value it had, a row that failed gets its own jittered retry time."""
    announcement = email_fanned_out_at_now(component, 2)
    ok, failed = announcement.deliveries.claim_due(NOW, 2)
    later = NOW + timedelta(minutes=1)
    results = [
        dispatch.SendResult(ok.id, provider_id="m"),
        dispatch.SendResult(failed.id, error=TransientError("SendGrid 503")),
    ]
    dispatch.record_results(announcement, [ok, failed], results, later)
    rows = {d.id: d for d in Delivery.objects.all()}
    assert rows[ok.id].state == DeliveryState.SENT and rows[ok.id].next_attempt_at == NOW
    assert (
        rows[failed.id].state == DeliveryState.PENDING and rows[failed.id].next_attempt_at > later
    )


def test_the_first_update_of_an_incident_has_nothing_to_supersede_and_reads_no_outbox_for_it(
    component,
):
    """Coalescing looks for older announcements of the incident first: with none, the
    outbox (every pending delivery of every incident) is not searched at all."""
    for n in range(3):
        subscribe("email", f"p{n}@example.org")
    announcement = announce_email(component)
    with CaptureQueriesContext(connection) as queries:
        dispatch.fan_out(announcement.id)
    assert not [q["sql"] for q in queries if "superseded" in q["sql"]]
    assert announcement.deliveries.filter(state=DeliveryState.PENDING).count() == 3


@pytest.mark.skipif(connection.vendor != "sqlite", reason="reads SQLite's query plan")
def test_the_outbox_finds_due_and_in_flight_rows_through_indexes_that_hold_only_those(component):
    """The due and in-flight indexes are partial (pending rows, sending rows): the outbox
    keeps every delivery ever sent, and those indexes stay the size of the backlog. The
    queries must still match the indexes' conditions, with Django's bound parameters."""
    announcement = announce_email(component)
    reads = {
        "delivery_due_in_order": announcement.deliveries.due(NOW)
        .order_by("next_attempt_at", "id")
        .values("id")[:10],
        "delivery_due": Delivery.objects.due(NOW).values("announcement_id"),
        "delivery_in_flight": announcement.deliveries.in_flight(uuid.uuid4()).values("id"),
    }
    for index, query in reads.items():
        sql, params = query.query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
            plan = " / ".join(row[-1] for row in cursor.fetchall())
        assert f"USING INDEX {index} " in plan or f"USING COVERING INDEX {index} " in plan, plan


def test_a_newer_update_supersedes_the_unsent_older_message_to_the_same_app_topic(component):
    """Topic rows have no subscriber: coalescing matches them by address (the topic)."""
    audience = component.audiences.get()
    incident = make_incident(component)
    opened, resolved = (
        add_update(incident, "opened"),
        add_update(incident, "resolved", body="Fixed."),
    )
    older = dispatch.announce(opened, "push", Recipients.APP_USERS, audience, NOW)
    dispatch.fan_out(older.id)
    newer = dispatch.announce(resolved, "push", Recipients.APP_USERS, audience, NOW)
    dispatch.fan_out(newer.id)
    [old] = older.deliveries.all()
    assert (old.target, old.subscriber_id, old.state) == (
        audience.push_topic,
        None,
        DeliveryState.SUPERSEDED,
    )
    assert newer.deliveries.get().state == DeliveryState.PENDING
