"""The Slack channel: public updates POSTed (requests) to the configured incoming webhook,
here the sandbox's stand-in for Slack, and Slack's answers deciding retry or give-up."""

from __future__ import annotations

from datetime import timedelta

import pytest
import requests
import time_machine
from django.utils import translation

from incidents.limits import MessageTooLong
from incidents.models import MessageTemplate
from notifiers.channels import slack
from notifiers.delivery import dispatch
from notifiers.models import Announcement, Delivery, DeliveryState, Recipients
from notifiers.registry import get_channel
from notifiers.sandbox.app import provider_modules
from tests.clock import NOW
from tests.factories import add_update, make_incident

pytestmark = pytest.mark.django_db(transaction=True)
HOOK = "https://hooks.slack.com/services/T0ACME/B0STATUS/s3cretToken"


@pytest.fixture
def configured(settings):
    settings.SLACK = {"WEBHOOK_URL": HOOK}
    return settings


def announce(component, task_queue, kind="opened", body="We are investigating."):
    update = add_update(make_incident(component), kind, body=body)
    with time_machine.travel(NOW, tick=True):
        dispatch.announce(update, "slack", Recipients.PUBLIC, None, NOW)
        task_queue()
    return update


def posts(sandbox):
    return sandbox.recorder.list(provider="slack")


def test_an_opened_incident_is_posted_to_the_configured_hook(
    component, configured, sandbox, task_queue
):
    update = announce(component, task_queue)
    [post] = posts(sandbox)
    assert post["target"] == "T0ACME/B0STATUS"
    header, section = post["payload"]["blocks"]
    assert header == {
        "type": "header",
        "text": {"type": "plain_text", "text": "Service problem: Follow app alerts"},
    }
    assert post["payload"]["text"] == "Service problem: Follow app alerts"
    assert section["text"]["type"] == "mrkdwn"
    assert "What to do now: Check glucose with a meter." in section["text"]["text"]
    assert section["text"]["text"].endswith(f"/incidents/{update.incident.public_id}")
    delivery = Delivery.objects.get()
    assert delivery.state == DeliveryState.SENT
    assert "s3cret" not in delivery.target, "the hook's secret never reaches the outbox"


def test_staff_text_is_escaped_for_mrkdwn(component, configured, sandbox, task_queue):
    announce(component, task_queue, kind="update", body="Queue <b>stuck</b> & slow")
    [post] = posts(sandbox)
    assert (
        "Queue &lt;b&gt;stuck&lt;/b&gt; &amp; slow" in post["payload"]["blocks"][1]["text"]["text"]
    )


def test_nothing_is_posted_without_a_hook_or_to_other_recipients(
    component, settings, sandbox, task_queue
):
    settings.SLACK = {"WEBHOOK_URL": ""}
    announce(component, task_queue)
    settings.SLACK = {"WEBHOOK_URL": HOOK}
    update = add_update(make_incident(component), "opened")
    with time_machine.travel(NOW, tick=True):
        dispatch.announce(update, "slack", Recipients.SUBSCRIBERS, None, NOW)
        task_queue()
    assert posts(sandbox) == [] and not Delivery.objects.exists()


def test_rate_limited_is_retried_after_retry_after_and_posts_once(
    component, configured, sandbox, task_queue
):
    requests.post(
        f"{sandbox.url}/_sandbox/faults",
        json={"provider": "slack", "fail_next": 1, "error_status": 429, "retry_after": 30},
        timeout=5,
    )
    announce(component, task_queue)
    delivery = Delivery.objects.get()
    assert delivery.state == DeliveryState.PENDING and "rate_limited" in delivery.last_error
    assert delivery.next_attempt_at >= NOW + timedelta(seconds=30)
    later = NOW + timedelta(minutes=5)
    with time_machine.travel(later, tick=True):
        dispatch.retry_due(later)
        task_queue()
    assert Delivery.objects.get().state == DeliveryState.SENT
    assert len(posts(sandbox)) == 1


def test_an_archived_channel_is_a_permanent_failure(component, settings, sandbox, task_queue):
    settings.SLACK = {"WEBHOOK_URL": "https://hooks.slack.com/services/T0ACME/B0OLD/archived"}
    announce(component, task_queue)
    failed = Delivery.objects.get()
    assert failed.state == DeliveryState.FAILED and failed.permanent_error
    assert "410" in failed.last_error and "channel_is_archived" in failed.last_error
    later = NOW + timedelta(hours=1)
    with time_machine.travel(later, tick=True):
        assert dispatch.retry_due(later) == 0


def test_the_wording_is_translated(component, configured):
    update = add_update(make_incident(component), "opened")
    announcement = Announcement(update=update, channel="slack", recipients="public", created_at=NOW)
    with translation.override("es"):
        message = get_channel("slack").render(announcement)
    assert message.title == "Problema del servicio: Follow app alerts"
    assert "Qué hacer ahora: Check glucose with a meter." in message.text
    assert "Siga todas las actualizaciones: http" in message.text


def test_a_title_over_slacks_header_limit_is_an_error_at_render(component, configured):
    MessageTemplate.objects.create(
        channel="slack", kind="update", part="title", locale="en", body="{{ update.body }}"
    )
    update = add_update(make_incident(component), "update", body="x" * 151)
    announcement = Announcement(update=update, channel="slack", recipients="public", created_at=NOW)
    with pytest.raises(MessageTooLong, match="slack title: 151 characters; the limit is 150"):
        get_channel("slack").render(announcement)


def test_the_sandbox_refuses_what_slack_refuses(sandbox):
    url = f"{sandbox.url}/services/T0ACME/B0STATUS/s3cretToken"
    empty = requests.post(url, json={}, timeout=5)
    assert (empty.status_code, empty.text) == (400, "no_text")
    long_header = {"type": "header", "text": {"type": "plain_text", "text": "x" * 151}}
    refused = requests.post(url, json={"text": "t", "blocks": [long_header]}, timeout=5)
    assert (refused.status_code, refused.text) == (400, "invalid_blocks")
    accepted = requests.post(url, json={"text": "hello"}, timeout=5)
    assert (accepted.status_code, accepted.text) == (200, "ok")
    assert [r["target"] for r in posts(sandbox)] == ["T0ACME/B0STATUS"]


def test_the_sandbox_finds_its_provider_modules_itself():
    providers = {module.PROVIDER for module in provider_modules()}
    assert {"fcm", "twilio", "sendgrid", "webhook", "x", "facebook", "slack"} <= providers


def test_the_hook_comes_from_the_environment_when_the_project_sets_no_slack(settings, monkeypatch):
    assert not hasattr(settings, "SLACK")
    monkeypatch.setenv("SLACK_WEBHOOK_URL", HOOK)
    assert slack.configured_url() == HOOK
    monkeypatch.delenv("SLACK_WEBHOOK_URL")
    assert slack.configured_url() == ""
