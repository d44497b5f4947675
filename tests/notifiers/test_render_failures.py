"""A render or send error is never "sending" forever: the delivery fails with the reason,
staff see it on the console at once with the text that failed, and a subscriber's fallback
contact gets the update instead."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine

from incidents.console.alerts import staff_alerts
from incidents.console.progress import progress
from incidents.models import MessageTemplate
from notifiers.delivery import dispatch
from notifiers.models import (
    MAX_ATTEMPTS,
    SENDING_LEASE,
    Delivery,
    DeliveryState,
    Recipients,
    SocialAccount,
    Subscriber,
)
from tests.clock import NOW
from tests.factories import add_update, make_incident, subscribe

pytestmark = pytest.mark.django_db(transaction=True)
UNFITTABLE = "{{ update.body }} {{ update.body }} {{ update.body }} {{ update.body }}"


def announce(update, channel, recipients, task_queue):
    with time_machine.travel(NOW, tick=True):
        dispatch.announce(update, channel, recipients, None, NOW)
        task_queue()


def test_a_post_no_shortening_can_fit_fails_with_the_reason_and_is_never_retried(
    component, sandbox, task_queue
):
    SocialAccount.objects.create(network="x", name="@acme", secret_env_prefix="X_ACME")
    MessageTemplate.objects.create(
        channel="x", kind="opened", part="body", locale="en", body=UNFITTABLE
    )
    update = add_update(make_incident(component), "opened", body="word " * 40)
    announce(update, "x", Recipients.PUBLIC, task_queue)
    failed = Delivery.objects.get()
    assert failed.state == DeliveryState.FAILED and failed.permanent_error
    assert "weighted characters; the limit is 280" in failed.last_error
    later = NOW + timedelta(hours=1)
    with time_machine.travel(later, tick=True):
        assert dispatch.retry_due(later) == 0
    assert sandbox.recorder.list(provider="x") == []


def test_staff_see_the_failed_channel_with_its_reason_and_text_at_once(
    component, sandbox, task_queue
):
    SocialAccount.objects.create(network="x", name="@acme", secret_env_prefix="X_ACME")
    MessageTemplate.objects.create(
        channel="x", kind="opened", part="body", locale="en", body=UNFITTABLE
    )
    update = add_update(make_incident(component), "opened", body="word " * 40)
    announce(update, "x", Recipients.PUBLIC, task_queue)
    with time_machine.travel(NOW + timedelta(seconds=5)):
        [alert] = [a for a in staff_alerts() if a.kind == "delivery_failed"]
        [row] = progress(update.incident, NOW)[update.id]
    assert alert.message.startswith('1 x delivery of the "Opened" update of Follow app alerts down')
    assert "the limit is 280" in alert.message and "still over" in alert.message
    assert "could not render" in row.failure


def test_an_sms_that_cannot_be_rendered_goes_to_the_fallback_email(component, sandbox, task_queue):
    MessageTemplate.objects.create(
        channel="sms", kind="opened", part="body", locale="en", body=UNFITTABLE
    )
    email = subscribe("email", "parent@example.org")
    phone = subscribe("sms", "+14155550100", fallback=email)
    Subscriber.objects.filter(id=email.id).update(all_components=False)
    update = add_update(make_incident(component), "opened", body="word " * 40)
    announce(update, "sms", Recipients.SUBSCRIBERS, task_queue)
    assert Delivery.objects.get(subscriber=phone).state == DeliveryState.FAILED
    assert Delivery.objects.get(subscriber=email).state == DeliveryState.SENT
    [mail] = sandbox.recorder.list(provider="sendgrid")
    assert mail["target"] == "parent@example.org"


def test_a_row_whose_worker_died_every_attempt_fails_instead_of_sending_forever(component):
    update = add_update(make_incident(component), "opened")
    announcement = dispatch.announce(update, "email", Recipients.SUBSCRIBERS, None, NOW)
    stuck = Delivery.objects.create(
        announcement=announcement,
        channel="email",
        target="a@example.org",
        state=DeliveryState.SENDING,
        attempts=MAX_ATTEMPTS,
        last_attempt_at=NOW,
        next_attempt_at=NOW,
        created_at=NOW,
    )
    Delivery.objects.requeue_stale(NOW + SENDING_LEASE + timedelta(seconds=1))
    stuck.refresh_from_db()
    assert stuck.state == DeliveryState.FAILED and "worker died" in stuck.last_error
