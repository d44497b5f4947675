"""The webhook channel: signed Statuspage-shaped JSON, Slack and Teams formats, the
verification ping, and the endpoint's answers deciding retry or give-up."""

from __future__ import annotations

from datetime import timedelta

import pytest
import requests
import time_machine

from notifiers.channels.webhook import SIGNATURE_HEADER, verify
from notifiers.delivery import dispatch
from notifiers.models import Delivery, DeliveryState, Recipients
from notifiers.subscribers import Subscriber
from tests.clock import NOW
from tests.factories import add_update, make_incident, subscribe

pytestmark = pytest.mark.django_db(transaction=True)
SECRET = "s3cret"


def hook(sandbox, name, style="statuspage", **fields):
    return subscribe(
        "webhook",
        f"{sandbox.url}/_sandbox/hooks/{name}",
        signing_secret=SECRET,
        webhook_format=style,
        **fields,
    )


def received(sandbox, name):
    return sandbox.recorder.list(provider="webhook", target=name)


def announce(component, task_queue, kind="opened"):
    update = add_update(make_incident(component), kind, body="Alerts are delayed.")
    with time_machine.travel(NOW, tick=True):
        dispatch.announce(update, "webhook", Recipients.SUBSCRIBERS, None, NOW)
        task_queue()
    return update


def test_statuspage_payload_is_signed_with_a_timestamp(component, sandbox, task_queue):
    subscriber = hook(sandbox, "ops")
    update = announce(component, task_queue)
    [call] = received(sandbox, "ops")
    body = call["payload"]["body"]
    assert set(body) == {"meta", "page", "incident"}
    assert body["page"]["status_indicator"] in {"none", "minor", "major", "critical"}
    assert body["incident"]["id"] == update.incident.public_id
    assert body["incident"]["incident_updates"][0]["body"] == "Alerts are delayed."
    assert "/subscriptions/" in body["meta"]["unsubscribe"]
    header = call["payload"]["headers"][SIGNATURE_HEADER]
    raw = call["payload"]["raw"].encode()
    assert verify(SECRET, raw, header, now=NOW.timestamp())
    assert not verify("wrong", raw, header, now=NOW.timestamp())
    assert not verify(SECRET, raw, header, now=(NOW + timedelta(hours=1)).timestamp())
    assert Delivery.objects.get(subscriber=subscriber).state == DeliveryState.SENT


def test_slack_and_teams_get_their_own_formats(component, sandbox, task_queue):
    hook(sandbox, "slack", "slack")
    hook(sandbox, "teams", "teams")
    announce(component, task_queue, kind="update")
    [slack] = received(sandbox, "slack")
    assert "Alerts are delayed." in slack["payload"]["body"]["text"]
    assert slack["payload"]["body"]["blocks"][0]["type"] == "header"
    [teams] = received(sandbox, "teams")
    card = teams["payload"]["body"]["attachments"][0]
    assert card["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert "Alerts are delayed." in card["content"]["body"][1]["text"]


def test_endpoint_5xx_is_retried_and_410_gone_unsubscribes(component, sandbox, task_queue):
    flaky = hook(sandbox, "flaky")
    gone = hook(sandbox, "gone-1")
    requests.post(
        f"{sandbox.url}/_sandbox/faults",
        json={"provider": "webhook", "fail_next": 1, "error_status": 502},
        timeout=5,
    )
    announce(component, task_queue)
    states = {d.subscriber_id: (d.state, d.permanent_error) for d in Delivery.objects.all()}
    assert states[flaky.id] == (DeliveryState.PENDING, False)  # sent first, got the 502
    later = NOW + timedelta(minutes=5)
    with time_machine.travel(later, tick=True):
        dispatch.retry_due(later)
        task_queue()
    assert Delivery.objects.get(subscriber=flaky).state == DeliveryState.SENT
    failed = Delivery.objects.get(subscriber=gone)
    assert failed.state == DeliveryState.FAILED and failed.permanent_error
    gone.refresh_from_db()
    assert gone.suppression == "unsubscribed"


def test_webhook_subscription_is_confirmed_by_the_echoed_challenge(client, sandbox, task_queue):
    response = client.post(
        "/subscribe/",
        {
            "channel": "webhook",
            "url": f"{sandbox.url}/_sandbox/hooks/new",
            "webhook_format": "statuspage",
        },
    )
    assert response.status_code == 200
    subscriber = Subscriber.objects.get(channel="webhook")
    assert subscriber.signing_secret in response.content.decode()
    assert subscriber.confirmed_at is None
    task_queue()
    [ping] = received(sandbox, "new")
    assert ping["payload"]["body"]["type"] == "ping"
    assert verify(
        subscriber.signing_secret,
        ping["payload"]["raw"].encode(),
        ping["payload"]["headers"][SIGNATURE_HEADER],
        now=ping_time(ping),
    )
    subscriber.refresh_from_db()
    assert subscriber.is_active


def ping_time(record) -> float:
    header = record["payload"]["headers"][SIGNATURE_HEADER]
    return float(dict(p.split("=", 1) for p in header.split(","))["t"])


def test_a_webhook_that_does_not_answer_the_ping_stays_unconfirmed(client, sandbox, task_queue):
    client.post(
        "/subscribe/", {"channel": "webhook", "url": f"{sandbox.url}/_sandbox/hooks/gone-x"}
    )
    task_queue()
    assert Subscriber.objects.get(channel="webhook").confirmed_at is None


def test_webhook_urls_must_be_public_https_outside_the_sandbox(client, settings):
    settings.SANDBOX_URL = ""
    settings.NOTIFIERS = {**settings.NOTIFIERS, "WEBHOOK_ALLOWED_NETWORKS": []}
    for url, message in [
        ("http://example.com/hook", "Use an https:// URL."),
        ("https://127.0.0.1/hook", "The URL must point to a public host."),
        ("https://10.0.0.5/hook", "The URL must point to a public host."),
        ("not a url", "Enter a valid URL."),
    ]:
        response = client.post("/subscribe/", {"channel": "webhook", "url": url})
        assert response.status_code == 400
        assert message in response.content.decode(), url
    assert Subscriber.objects.count() == 0


def test_an_anonymous_subscribe_never_changes_a_confirmed_webhook(client, sandbox, task_queue):
    victim = hook(sandbox, "victim")
    before = Delivery.objects.count()
    answer = client.post(
        "/subscribe/",
        {"channel": "webhook", "url": victim.address, "webhook_format": "slack"},
    )
    assert answer.status_code == 200
    page = answer.content.decode()
    assert "already subscribed" in page
    assert 'id="signing-secret"' not in page
    changed = Subscriber.objects.get(id=victim.id)
    assert (changed.signing_secret, changed.webhook_format) == (SECRET, "statuspage")
    assert changed.confirmed_at == victim.confirmed_at
    assert changed.all_components
    task_queue()
    assert Delivery.objects.count() == before
    assert received(sandbox, "victim") == []


def test_an_unconfirmed_webhook_posted_again_is_pinged_again_with_its_own_secret(
    client, sandbox, task_queue
):
    pending = hook(sandbox, "slow", confirmed=False)
    answer = client.post("/subscribe/", {"channel": "webhook", "url": pending.address})
    assert SECRET not in answer.content.decode()
    task_queue()
    [ping] = received(sandbox, "slow")
    assert verify(
        SECRET,
        ping["payload"]["raw"].encode(),
        ping["payload"]["headers"][SIGNATURE_HEADER],
        now=ping_time(ping),
    )
    assert Subscriber.objects.get(id=pending.id).is_active
