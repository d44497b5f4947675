"""Every registered channel has wording for every public message kind, in every language
of settings.LANGUAGES: a staff update or a holding update must never fail to render on
some channel, and a translation must never push a message over its channel's limit."""

import pytest
from django.conf import settings
from django.utils import translation

from incidents.response import workflow
from notifiers.models import Announcement
from notifiers.registry import PUBLIC_KINDS, channel_choices, get_channel, get_channel_class
from statuspage import clock
from statuspage.models import ProbeState, Verdict
from tests.factories import make_component, make_probe


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
    # Any of the recipients the channel declares it reaches.
    recipients = sorted(get_channel_class(channel).recipients)[0]
    announcement = Announcement(
        update=update, channel=channel, recipients=recipients, created_at=clock.now()
    )
    with translation.override(language):
        assert get_channel(channel).render(announcement)
