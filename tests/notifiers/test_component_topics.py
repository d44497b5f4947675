"""Per-component push topics: an app can subscribe a device to the topic of each
component it cares about; an update is sent to the affected components' topics as FCM
topic conditions (at most five topics each), so a device following several affected
components gets one message. Through firebase-admin against the sandbox, which keeps
topic subscriptions and delivers to devices as FCM does."""

from __future__ import annotations

import pytest
import time_machine
from firebase_admin import exceptions, messaging

from incidents.models import AffectedComponent
from incidents.response.publishing import publish, publish_to_told
from notifiers.channels.push import component_topic, firebase_app
from notifiers.models import Announcement, Delivery, DeliveryState, Recipients
from tests.clock import NOW
from tests.factories import add_update, make_component, make_incident

pytestmark = pytest.mark.django_db(transaction=True)


def affected(incident, *components):
    for component in components:
        AffectedComponent.objects.create(
            incident=incident, component=component, status="major_outage"
        )


def follow(device: str, *components) -> None:
    """What the app does on the device: subscribe it to each component's topic."""
    for component in components:
        assert (
            messaging.subscribe_to_topic(
                [device], component_topic(component), app=firebase_app()
            ).success_count
            == 1
        )


def received(sandbox, device):
    return sandbox.recorder.list(provider="fcm", target=device)


def publish_to_apps(update, task_queue, now=NOW):
    with time_machine.travel(now, tick=True):
        outcome = publish(update, Recipients.APP_USERS, ["push"], now)
        task_queue()
    return outcome


def test_a_component_topic_is_the_prefix_and_the_component_id(component):
    assert component_topic(component) == f"component-{component.public_id}"


def test_a_device_following_both_affected_components_gets_one_message(sandbox, task_queue):
    alerts = make_component("Follow app alerts")
    share = make_component("Share upload", audience_slug=None)
    other = make_component("Clarity reports", audience_slug=None)
    incident = make_incident(alerts)
    affected(incident, share)
    follow("device-both", alerts, share)
    follow("device-one", share)
    follow("device-other", other)

    publish_to_apps(add_update(incident, "opened"), task_queue)

    [both] = received(sandbox, "device-both")
    assert both["kind"] == "device"
    assert both["preview"]["title"] == "Service problem: Follow app alerts, Share upload"
    assert len(received(sandbox, "device-one")) == 1
    assert received(sandbox, "device-other") == []
    [condition] = Delivery.objects.filter(announcement__recipients=Recipients.COMPONENT_TOPICS)
    topics = sorted([component_topic(alerts), component_topic(share)])
    assert condition.target == f"'{topics[0]}' in topics || '{topics[1]}' in topics"
    assert condition.state == DeliveryState.SENT
    [sent] = [
        r
        for r in sandbox.recorder.list(provider="fcm")
        if r["kind"] == "push" and "in topics" in r["target"]
    ]
    assert sent["payload"]["message"]["condition"] == condition.target
    # The app's own topic is still told, as before.
    assert len(received(sandbox, "/topics/follow-app-status")) == 1


def test_more_than_five_affected_components_are_split_into_conditions_of_five(sandbox, task_queue):
    components = [make_component(f"Component {n}", audience_slug=None) for n in range(7)]
    incident = make_incident(components[0])
    affected(incident, *components[1:])
    follow("device-first", components[0])
    follow("device-last", components[-1])

    publish_to_apps(add_update(incident, "opened"), task_queue)

    targets = list(
        Delivery.objects.filter(announcement__recipients=Recipients.COMPONENT_TOPICS)
        .order_by("id")
        .values_list("target", flat=True)
    )
    assert [t.count(" in topics") for t in targets] == [5, 2]
    every_topic = sorted(component_topic(c) for c in components)
    assert all(f"'{topic}' in topics" in " ".join(targets) for topic in every_topic)
    assert (
        len(received(sandbox, "device-first")) == 1 and len(received(sandbox, "device-last")) == 1
    )


def test_one_affected_component_is_sent_to_its_topic(component, sandbox, task_queue):
    follow("device", component)
    publish_to_apps(add_update(make_incident(component), "opened"), task_queue)
    [delivery] = Delivery.objects.filter(announcement__recipients=Recipients.COMPONENT_TOPICS)
    assert delivery.target == component_topic(component)
    assert len(received(sandbox, "device")) == 1


def test_component_topics_are_told_again_with_every_later_update(component, sandbox, task_queue):
    follow("device", component)
    incident = make_incident(component)
    publish_to_apps(add_update(incident, "opened"), task_queue)
    resolved = add_update(incident, "resolved")
    with time_machine.travel(NOW, tick=True):
        publish_to_told(resolved, NOW)
        task_queue()
    assert (
        Announcement.objects.filter(update=resolved, recipients=Recipients.COMPONENT_TOPICS).count()
        == 1
    )
    assert [r["preview"]["title"] for r in received(sandbox, "device")] == [
        "Service problem: Follow app alerts",
        "Resolved: Follow app alerts",
    ]


def test_a_device_that_unsubscribes_from_a_topic_gets_nothing_more(component, sandbox, task_queue):
    follow("device", component)
    messaging.unsubscribe_from_topic(["device"], component_topic(component), app=firebase_app())
    publish_to_apps(add_update(make_incident(component), "opened"), task_queue)
    assert received(sandbox, "device") == []


@pytest.mark.parametrize(
    "condition",
    [
        " || ".join(f"'t{n}' in topics" for n in range(6)),
        "'a' in topics ||",
        "'a' in topics or 'b' in topics",
        "('a' in topics || 'b' in topics",
    ],
)
def test_the_sandbox_refuses_conditions_fcm_refuses(sandbox, condition):
    with pytest.raises(exceptions.InvalidArgumentError):
        messaging.send(messaging.Message(condition=condition, data={"x": "y"}), app=firebase_app())


def test_the_sandbox_evaluates_conditions_left_to_right_after_parentheses(sandbox):
    """As FCM documents it: parentheses first, then left to right (no && precedence)."""
    messaging.subscribe_to_topic(["d-ab"], "a", app=firebase_app())
    messaging.subscribe_to_topic(["d-ab"], "b", app=firebase_app())
    messaging.subscribe_to_topic(["d-a"], "a", app=firebase_app())
    messaging.subscribe_to_topic(["d-c"], "c", app=firebase_app())
    for condition, reached in [
        ("'a' in topics && ('b' in topics || 'c' in topics) || 'c' in topics", ["d-ab", "d-c"]),
        ("'c' in topics || 'a' in topics && 'b' in topics", ["d-ab"]),
    ]:
        sandbox.recorder.clear()
        messaging.send(messaging.Message(condition=condition, data={"x": "y"}), app=firebase_app())
        devices = sorted(
            r["target"] for r in sandbox.recorder.list(provider="fcm") if r["kind"] == "device"
        )
        assert devices == reached, condition
