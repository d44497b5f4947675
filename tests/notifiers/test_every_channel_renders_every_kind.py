"""Every registered channel has wording for every public message kind, in every language
of settings.LANGUAGES: a staff update or a holding update must never fail to render on
some channel, and a translation must never push a message over its channel's limit."""

import pytest
from django.conf import settings
from django.utils import translation

from incidents.response import workflow
from notifiers.models import Announcement, Recipients
from notifiers.registry import channel_choices, get_channel
from statuspage import clock
from statuspage.models import ProbeState, Verdict
from tests.factories import make_component, make_probe

PUBLIC_KINDS = [
    "opened",
    "update",
    "recovering",
    "relapsed",
    "resolved",
    "holding",
    "maintenance_scheduled",
    "maintenance_started",
    "maintenance_completed",
]


@pytest.fixture
def incident(db):
    probe = make_probe(make_component(), "http://127.0.0.1:1/health")
    probe.state = ProbeState.DOWN
    probe.save()
    return workflow.handle_verdict(probe, Verdict.CONFIRMED_DOWN, clock.now())


@pytest.mark.parametrize("language", [code for code, _ in settings.LANGUAGES])
@pytest.mark.parametrize("kind", PUBLIC_KINDS)
@pytest.mark.parametrize("channel", [name for name, _ in channel_choices()])
def test_channel_renders_kind(incident, channel, kind, language):
    update = workflow.add_update(incident, kind, "Alerts are delayed.", clock.now())
    recipients = (
        Recipients.PUBLIC
        if channel in {"mastodon", "bluesky", "x", "facebook"}
        else Recipients.SUBSCRIBERS
    )
    announcement = Announcement(
        update=update, channel=channel, recipients=recipients, created_at=clock.now()
    )
    with translation.override(language):
        assert get_channel(channel).render(announcement)
