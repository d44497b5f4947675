"""Webhook subscribers hear of every status change of the components they follow, as
Statuspage's `component_update` event: signed, recorded in the outbox with the change,
retried after a failure, never lost."""

from __future__ import annotations

from datetime import timedelta

import pytest
import requests
import time_machine

from notifiers.channels.webhook import SIGNATURE_HEADER, verify
from notifiers.delivery import confirmations
from notifiers.models import Delivery, DeliveryState
from statuspage.models import Audience
from tests.clock import NOW
from tests.factories import make_component, subscribe

pytestmark = pytest.mark.django_db(transaction=True)
SECRET = "s3cret"


def hook(sandbox, name, components=(), style="statuspage"):
    return subscribe(
        "webhook",
        f"{sandbox.url}/_sandbox/hooks/{name}",
        components=components,
        signing_secret=SECRET,
        webhook_format=style,
    )


def received(sandbox, name):
    return sandbox.recorder.list(provider="webhook", target=name)


def test_a_status_change_reaches_followers_in_statuspages_shape_signed(
    component, sandbox, task_queue
):
    other = make_component("Share upload", audience_slug=None)
    everything = hook(sandbox, "all")
    hook(sandbox, "alerts", components=[component])
    hook(sandbox, "upload-only", components=[other])
    hook(sandbox, "chat", style="slack")
    assert component.set_status("major_outage")
    task_queue()
    [call] = received(sandbox, "all")
    body = call["payload"]["body"]
    assert set(body) == {"meta", "page", "component_update", "component"}
    assert body["component_update"] == {
        "created_at": body["component_update"]["created_at"],
        "new_status": "major_outage",
        "old_status": "operational",
        "id": body["component_update"]["id"],
        "component_id": component.public_id,
    }
    assert body["component"]["id"] == component.public_id
    assert body["component"]["name"] == "Follow app alerts"
    assert body["component"]["status"] == "major_outage"
    assert set(body["page"]) == {"id", "status_indicator", "status_description"}
    assert "/subscriptions/" in body["meta"]["unsubscribe"]
    assert body["meta"]["documentation"].endswith("/api/v2/summary.json")
    raw, header = call["payload"]["raw"].encode(), call["payload"]["headers"][SIGNATURE_HEADER]
    assert verify(SECRET, raw, header, now=NOW.timestamp())
    assert len(received(sandbox, "alerts")) == 1
    assert received(sandbox, "upload-only") == [] and received(sandbox, "chat") == []
    assert Delivery.objects.get(subscriber=everything).state == DeliveryState.SENT
    everything.refresh_from_db()
    assert everything.is_active  # a sent event is not taken for a confirmation


def test_no_change_no_event_and_unconfirmed_webhooks_hear_nothing(component, sandbox, task_queue):
    hook(sandbox, "all")
    subscribe("webhook", f"{sandbox.url}/_sandbox/hooks/pending", confirmed=False)
    assert not component.set_status("operational")
    component.set_status("degraded_performance")
    task_queue()
    assert len(received(sandbox, "all")) == 1 and received(sandbox, "pending") == []


def test_a_failed_post_is_retried_by_the_sweep_until_it_goes_out(component, sandbox, task_queue):
    hook(sandbox, "flaky")
    requests.post(
        f"{sandbox.url}/_sandbox/faults",
        json={"provider": "webhook", "fail_next": 1, "error_status": 503},
        timeout=5,
    )
    component.set_status("partial_outage")
    task_queue()
    row = Delivery.objects.get()
    assert row.state == DeliveryState.PENDING and row.attempts == 1
    later = NOW + timedelta(minutes=5)
    with time_machine.travel(later, tick=True):
        assert confirmations.retry_due(later) == 1
        task_queue()
    row.refresh_from_db()
    assert row.state == DeliveryState.SENT and row.attempts == 2
    [call] = received(sandbox, "flaky")
    assert call["payload"]["body"]["component_update"]["new_status"] == "partial_outage"


def test_the_event_is_recorded_with_the_change_before_any_send(component, sandbox):
    hook(sandbox, "all")
    component.set_status("major_outage")
    [row] = Delivery.objects.all()
    assert row.state == DeliveryState.PENDING and row.announcement_id is None
    assert row.context == {"component_update": component.changes.get().id}
    assert received(sandbox, "all") == []


def test_a_private_components_changes_reach_only_its_audiences_webhooks(
    component, sandbox, task_queue
):
    clinic = Audience.objects.create(
        slug="clinic-network", name="Clinic network", push_topic="clinic-status", private_page=True
    )
    component.private_to.add(clinic)
    hook(sandbox, "public")
    subscribe(
        "webhook",
        f"{sandbox.url}/_sandbox/hooks/clinic",
        signing_secret=SECRET,
        audience=clinic,
    )
    component.set_status("major_outage")
    task_queue()
    assert received(sandbox, "public") == []
    [call] = received(sandbox, "clinic")
    assert call["payload"]["body"]["component"]["id"] == component.public_id
