"""A postmortem has its own templates on the channels that carry it (the page, email): the
page frames the staff's text with the incident's span; everyone told by email gets it, and
no text, push or post is sent for it."""

from datetime import timedelta

import pytest
from django.utils import translation

from incidents.models import IncidentUpdate
from incidents.response import workflow
from incidents.response.policies import ensure_default_policy
from notifiers.delivery import dispatch
from notifiers.models import Recipients
from statuspage.models import Verdict
from tests.clock import NOW
from tests.factories import add_update

pytestmark = pytest.mark.django_db
TEXT = "A queue was undersized after the move; we doubled it and added an alarm."


@pytest.fixture
def resolved(down_probe):
    ensure_default_policy()
    incident = workflow.handle_verdict(down_probe, Verdict.CONFIRMED_DOWN, NOW)
    opened = incident.updates.get(kind="opened")
    dispatch.announce(opened, "email", Recipients.SUBSCRIBERS, None, NOW)
    dispatch.announce(opened, "sms", Recipients.SUBSCRIBERS, None, NOW)
    workflow.resolve(incident, NOW + timedelta(hours=1))
    return incident


def test_the_page_frames_the_postmortem_with_the_incidents_span(resolved):
    update = workflow.publish_postmortem(resolved, TEXT, None, NOW + timedelta(days=1))
    assert update.kind == IncidentUpdate.Kind.POSTMORTEM
    assert update.body.startswith(
        f"Postmortem of {resolved.name}, from 27 Nov 2026 00:59 UTC to 27 Nov 2026 02:00 UTC."
    )
    assert update.body.endswith(TEXT)


def test_everyone_told_hears_it_by_email_and_by_nothing_else(resolved):
    update = workflow.publish_postmortem(resolved, TEXT, None, NOW + timedelta(days=1), True)
    assert list(update.announcements.values_list("channel", flat=True).distinct()) == ["email"]


def test_the_email_has_its_own_subject_in_each_language(resolved):
    from incidents.messages import render_message

    update = add_update(resolved, "postmortem", body=TEXT)
    context = {"incident": resolved, "update": update}
    assert render_message("email", "postmortem", context, "subject") == (
        f"Postmortem: {resolved.name}"
    )
    with translation.override("es"):
        assert render_message("email", "postmortem", context, "subject").startswith(
            "Análisis posterior:"
        )
    assert TEXT in render_message("email", "postmortem", context, "text")
