"""Done when: the whole default-policy clock, walked through the sandbox in English and in
Spanish with the demo's own configuration (its long advice included), puts a message on
every channel at every step, and no delivery is left pending, sending or failed.

Steps: T+0 the probe confirms the outage (on-call paged, app users pushed); T+5 on-call
staff are called; T+10
subscribers by email and SMS; T+15 social networks, Slack and webhooks; T+30 the holding
update and the on-call reminder; T+35 the probe sees it back (everyone told hears);
T+65 the default policy's auto-resolve ends it (everyone told hears, on-call too)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine

from incidents.models import IncidentStatus, OnCallContact
from incidents.response import clock as escalation
from incidents.response import workflow
from notifiers.delivery import dispatch
from notifiers.models import Announcement, Delivery, DeliveryState, SocialAccount
from statuspage.demo.setup import load_demo
from statuspage.models import Component, ProbeState, Verdict
from tests.clock import NOW
from tests.factories import subscribe

pytestmark = pytest.mark.django_db(transaction=True)
MIN = timedelta(minutes=1)
SOCIAL = {"x", "bluesky", "mastodon", "facebook"}
TOLD_BY_THEN = {"push", "email", "sms", "webhook", "slack", *SOCIAL}
# Channels that must have delivered something at each step, whatever else also did.
EXPECTED = {
    "T+0": {"push", "sms", "email"},
    "T+5": {"voice"},
    "T+10": {"email", "sms"},
    "T+15": {"webhook", "slack", *SOCIAL},
    "T+30": TOLD_BY_THEN,
    "T+35": TOLD_BY_THEN,
    "T+65": TOLD_BY_THEN | {"voice"},
}
SPANISH = {"sms": "Problema del servicio", "push": "Problema del servicio"}


@pytest.fixture
def demo(settings, sandbox):
    settings.SLACK = {"WEBHOOK_URL": "https://hooks.slack.com/services/T0ACME/B0STATUS/s3cret"}
    load_demo()
    follow = Component.objects.get(name="Follow app alerts")
    probe = follow.probes.get()
    probe.url = "http://127.0.0.1:1/health"
    probe.state = ProbeState.DOWN
    probe.first_failure_at = NOW - 20 * timedelta(seconds=1)
    probe.save()
    OnCallContact.objects.create(name="Ada", phone="+14155550199", email="ada@example.org")
    for network in SOCIAL:
        SocialAccount.objects.create(
            network=network,
            name=f"@acme on {network}",
            server_url="https://mastodon.example" if network == "mastodon" else "",
            account="acme.bsky.social" if network == "bluesky" else "1234567890",
            secret_env_prefix=f"ACME_{network.upper()}",
        )
    return probe


def subscribers(sandbox, language: str) -> None:
    subscribe("email", f"follower-{language}@example.org", locale=language)
    subscribe("sms", "+14155550123", locale=language)
    subscribe("webhook", f"{sandbox.url}/_sandbox/hooks/ops-{language}", locale=language)


def deliver(at) -> None:
    """Run the queue until nothing is left, as the task cluster and the retry sweep do."""
    from tests.tasks import run_queued_tasks

    for _ in range(6):
        run_queued_tasks()
        if not dispatch.retry_due(at):
            break


@pytest.mark.parametrize("language", ["en", "es"])
def test_every_channel_gets_a_message_at_every_step_and_none_is_stuck(
    demo, sandbox, task_queue, settings, language
):
    settings.LANGUAGE_CODE = language
    subscribers(sandbox, language)
    probe = demo

    def walk(label: str, minutes: int, action) -> None:
        at = NOW + minutes * MIN
        seen = Announcement.objects.order_by("-id").values_list("id", flat=True).first() or 0
        with time_machine.travel(at, tick=True):
            action(at)
            deliver(at)
        new = Delivery.objects.filter(announcement_id__gt=seen)
        sent = set(new.filter(state=DeliveryState.SENT).values_list("channel", flat=True))
        assert EXPECTED[label] <= sent, (label, EXPECTED[label] - sent)
        stuck = Delivery.objects.exclude(state__in=[DeliveryState.SENT, DeliveryState.SUPERSEDED])
        assert not stuck.exists(), (label, list(stuck.values("channel", "state", "last_error")))

    def recover(at):
        probe.state = ProbeState.UP
        probe.save()
        workflow.handle_verdict(probe, Verdict.CONFIRMED_UP, at)

    walk("T+0", 0, lambda at: workflow.handle_verdict(probe, Verdict.CONFIRMED_DOWN, at))
    walk("T+5", 5, escalation.tick)
    walk("T+10", 10, escalation.tick)
    walk("T+15", 15, escalation.tick)
    walk("T+30", 30, escalation.tick)
    walk("T+35", 35, recover)
    walk("T+65", 65, workflow.auto_resolve_due)

    incident = probe.incidents.get()
    assert incident.status == IncidentStatus.RESOLVED
    posts = [r for r in sandbox.recorder.list() if r["kind"] == "post"]
    assert SOCIAL <= {r["provider"] for r in posts}
    if language == "es":
        texts = [r["payload"].get("Body", "") for r in sandbox.recorder.list(provider="twilio")]
        assert any(SPANISH["sms"] in text for text in texts)
