"""A private incident is told only to its audience: its subscribers (bound to its page) and
its app's push topic; never the public subscribers, their webhooks, the component topics,
social networks or Slack. Sent for real through the SDKs against the sandbox."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import time_machine
from django.conf import settings

from incidents.models import Action, AffectedComponent, EscalationPolicy, EscalationStep
from incidents.response import clock, workflow
from incidents.response.publishing import publish, publish_to_told
from notifiers.models import Announcement, Recipients, SocialAccount
from tests.clock import NOW
from tests.factories import add_update, subscribe
from tests.statuspage.private_world import private_world

pytestmark = pytest.mark.django_db(transaction=True)


def told(sandbox, target: str) -> list[dict]:
    return sandbox.recorder.list(target=target)


def publish_everywhere(update, task_queue) -> list:
    outcomes = []
    with time_machine.travel(NOW, tick=True):
        outcomes.append(publish(update, Recipients.APP_USERS, ["push"], NOW))
        outcomes.append(publish(update, Recipients.SUBSCRIBERS, ["email", "webhook"], NOW))
        outcomes.append(publish(update, Recipients.PUBLIC, ["x", "mastodon", "slack"], NOW))
        task_queue()
    return outcomes


def mastodon_account() -> SocialAccount:
    return SocialAccount.objects.create(
        network="mastodon",
        name="@acme",
        server_url="https://mastodon.example",
        secret_env_prefix="MASTODON_ACME",
    )


def test_a_private_incident_reaches_its_audience_and_nobody_else(sandbox, task_queue):
    world = private_world()
    mastodon_account()
    subscribe("email", "parent@example.org")
    subscribe("webhook", f"{sandbox.url}/_sandbox/hooks/public-ops")
    subscribe("email", "nurse@example.org", audience=world.audience)
    update = world.private_incident.updates.get()

    outcomes = publish_everywhere(update, task_queue)

    [mail] = told(sandbox, "nurse@example.org")
    assert mail["payload"]["subject"] == "Service problem: Clinic portal"
    assert told(sandbox, "parent@example.org") == []
    assert sandbox.recorder.list(provider="webhook") == []
    assert [r for r in sandbox.recorder.list() if r["kind"] == "post"] == []
    pushes = [r["target"] for r in sandbox.recorder.list(provider="fcm")]
    assert pushes and all("clinic-status" in target for target in pushes)
    kinds = set(Announcement.objects.values_list("recipients", flat=True))
    assert Recipients.PUBLIC not in kinds and Recipients.COMPONENT_TOPICS not in kinds
    assert "private incident: not announced to public" in outcomes[2].note()


def test_a_private_incident_s_messages_link_to_its_audience_page(sandbox, task_queue):
    world = private_world()
    subscribe("email", "nurse@example.org", audience=world.audience)
    update = world.private_incident.updates.get()

    publish_everywhere(update, task_queue)

    site = settings.STATUSPAGE["URL"]
    permalink = f"{site}/a/clinic-network/incidents/{world.private_incident.public_id}"
    [mail] = told(sandbox, "nurse@example.org")
    assert permalink in json.dumps(mail["payload"])
    assert f"{site}/incidents/" not in json.dumps(mail["payload"])
    pushes = sandbox.recorder.list(provider="fcm")
    assert pushes and all(p["payload"]["message"]["data"]["url"] == permalink for p in pushes)


def test_a_public_incident_reaches_public_and_audience_subscribers(sandbox, task_queue):
    world = private_world()
    world.private_incident.private_to.clear()
    subscribe("email", "parent@example.org")
    subscribe("email", "nurse@example.org", audience=world.audience)
    update = add_update(world.private_incident, "update", body="Still looking.")
    with time_machine.travel(NOW, tick=True):
        publish(update, Recipients.SUBSCRIBERS, ["email"], NOW)
        task_queue()
    assert len(told(sandbox, "parent@example.org")) == 1
    assert len(told(sandbox, "nurse@example.org")) == 1


def test_an_incident_made_private_after_it_was_announced_stays_within_its_audience():
    world = private_world()
    incident = world.private_incident
    incident.private_to.clear()
    subscribe("email", "parent@example.org")
    first = incident.updates.get()
    publish(first, Recipients.PUBLIC, ["x"], NOW)
    publish(first, Recipients.SUBSCRIBERS, ["email"], NOW)
    incident.private_to.add(world.audience)
    later = add_update(incident, "update", body="Clinic sign-in works again for some.")
    [again] = publish_to_told(later, NOW)
    assert (again.channel, again.recipients) == ("email", Recipients.SUBSCRIBERS)


def published_privately(sandbox, task_queue):
    """The private incident, also on a public component, with a policy publishing to
    subscribers by email and to the public on Mastodon, its steps fired while private."""
    world = private_world()
    mastodon_account()
    incident = world.private_incident
    AffectedComponent.objects.create(
        incident=incident, component=world.public_component, status="degraded_performance"
    )
    policy = EscalationPolicy.objects.create(name="Tell everyone", priority=1)
    for recipients, channel in [("subscribers", "email"), ("public", "mastodon")]:
        EscalationStep.objects.create(
            policy=policy, action=Action.PUBLISH, recipients=recipients, channels=[channel]
        )
    incident.policy = policy
    incident.save()
    subscribe("email", "parent@example.org")
    subscribe("email", "nurse@example.org", audience=world.audience)
    with time_machine.travel(NOW, tick=True):
        clock.advance(incident, NOW)
        task_queue()
    assert told(sandbox, "parent@example.org") == []
    assert len(told(sandbox, "nurse@example.org")) == 1
    assert posts(sandbox) == []
    return world


def posts(sandbox) -> list[dict]:
    return [r for r in sandbox.recorder.list() if r["kind"] == "post"]


def test_an_open_incident_made_public_tells_those_it_kept_out_its_latest_update(
    sandbox, task_queue
):
    world = published_privately(sandbox, task_queue)
    later = NOW + timedelta(minutes=10)
    with time_machine.travel(later, tick=True):
        workflow.change_privacy(world.private_incident, [], None, later)
        task_queue()
    [mail] = told(sandbox, "parent@example.org")
    assert "Clinic staff cannot sign in." in json.dumps(mail["payload"])
    assert len(told(sandbox, "nurse@example.org")) == 1, "those already told are not told twice"
    assert len(posts(sandbox)) == 1


def test_a_resolved_incident_made_public_tells_nobody_after_the_fact(sandbox, task_queue):
    world = published_privately(sandbox, task_queue)
    later = NOW + timedelta(minutes=10)
    with time_machine.travel(later, tick=True):
        workflow.resolve(world.private_incident, later)
        task_queue()
        workflow.change_privacy(world.private_incident, [], None, later)
        task_queue()
    assert told(sandbox, "parent@example.org") == [] and posts(sandbox) == []
