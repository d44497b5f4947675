"""What the console's preview and the shipped default policy offer comes from what each
registered channel declares: its role (whom it reaches), its parts and its policy slots."""

import pytest
from django.urls import reverse

from incidents.console import preview
from incidents.models import Action
from incidents.response import workflow
from incidents.response.policies import ensure_default_policy
from incidents.response.publishing import PUBLIC_RECIPIENTS
from notifiers.recipients import Recipients
from notifiers.registry import registered
from statuspage.models import Verdict
from tests.clock import NOW

pytestmark = pytest.mark.django_db


@pytest.fixture
def incident(down_probe):
    return workflow.handle_verdict(down_probe, Verdict.CONFIRMED_DOWN, NOW)


def previewed(incident, status: str) -> dict[str, list[str]]:
    """The parts previewed in the language being posted (the others follow, labelled)."""
    draft = preview.draft_update(incident, "The queue is draining.", status, NOW, 30)
    return {
        p.channel: [part.part for part in p.parts if not part.language]
        for p in preview.build(draft)
    }


def test_the_default_policy_places_each_channel_where_it_declares(db):
    policy = ensure_default_policy()
    placed = {
        (channel, step.delay_seconds, step.action, step.recipients)
        for step in policy.steps.all()
        for channel in step.channels
    }
    declared = {
        (name, slot.after, slot.action, slot.recipients)
        for name, cls in registered().items()
        for slot in cls.escalation
    }
    assert placed == declared | {("page", 0, Action.PUBLISH, Recipients.APP_USERS)}
    assert ("slack", 15 * 60, Action.PUBLISH, Recipients.PUBLIC) in placed
    assert ("webhook", 15 * 60, Action.PUBLISH, Recipients.PUBLIC) not in placed


def test_the_default_policy_pages_first_and_keeps_its_cadence(db):
    steps = list(ensure_default_policy().steps.order_by("position"))
    assert [s.delay_seconds for s in steps] == sorted(s.delay_seconds for s in steps)
    assert (steps[0].action, steps[1].action) == (Action.PAGE, Action.PUBLISH)
    [remind] = [s for s in steps if s.action == Action.REMIND]
    assert (remind.repeat_every_seconds, remind.if_quiet_for_seconds) == (1800, 1200)
    assert steps[-1].action == Action.HOLDING


def test_the_preview_offers_every_channel_whose_role_an_update_reaches(incident):
    shown = previewed(incident, "identified")
    public = {n for n, cls in registered().items() if cls.recipients & set(PUBLIC_RECIPIENTS)}
    assert set(shown) == {"page"} | public
    assert shown["slack"] == ["title", "text"]
    assert shown["email"] == ["subject", "text"], "the HTML twin is not previewed"
    assert "voice" not in shown, "on-call staff only hear the resolution"


def test_the_resolution_preview_also_shows_the_on_call_channels(incident):
    shown = previewed(incident, "resolved")
    assert shown["voice"] == ["body"]
    assert set(registered()) <= set(shown)


def test_the_console_shows_a_registered_channels_wording(client, support_user, incident):
    client.force_login(support_user)
    data = {
        "incident": incident.public_id,
        "status": "identified",
        "impact": "critical",
        "body": "We found the cause: an overloaded queue.",
        "components": [c.id for c in incident.components.all()],
        "component_status": "partial_outage",
        "notify": "on",
        "next_update_minutes": 30,
    }
    text = client.post(reverse("console-preview"), data).content.decode()
    slack = text.split('data-channel="slack"', 1)[1].split("</article>", 1)[0]
    assert '<span class="label">title</span><pre>Update: ' in slack
    assert "We found the cause: an overloaded queue." in slack
