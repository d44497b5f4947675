"""Message templates: humane defaults per channel, admin overrides, Spanish, and limits."""

import pytest
from django.utils import translation

from incidents import limits
from incidents.limits import MessageTooLong
from incidents.messages import render_message
from incidents.models import MessageTemplate
from incidents.response import workflow
from notifiers import lengths
from notifiers.registry import registered
from statuspage.models import Verdict
from tests.clock import NOW

pytestmark = pytest.mark.django_db

KINDS = [
    "opened",
    "update",
    "holding",
    "recovering",
    "relapsed",
    "resolved",
    "maintenance_scheduled",
    "maintenance_started",
    "maintenance_completed",
]
# Every part every registered channel declares.
PARTS = [(name, part.name) for name, cls in sorted(registered().items()) for part in cls.parts]


@pytest.fixture
def update(down_probe):
    incident = workflow.handle_verdict(down_probe, Verdict.CONFIRMED_DOWN, NOW)
    return incident.updates.get()


def context(update, kind):
    update.kind = kind
    return {"incident": update.incident, "update": update, "page_name": "Status"}


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_renders_on_every_channel_within_its_limits(update, kind):
    for channel, part in PARTS:
        assert render_message(channel, kind, context(update, kind), part).strip()


def test_opened_sms_says_what_who_what_to_do_when_next_and_where(update):
    text = render_message("sms", "opened", context(update, "opened"), "body")
    assert "Service problem: Follow app alerts" in text
    assert "Check glucose with a meter." in text
    assert "Next update by 01:30 UTC." in text
    assert text.endswith(f"/incidents/{update.incident.public_id}")


def test_spanish_wording(update):
    with translation.override("es"):
        title = render_message("push", "opened", context(update, "opened"), "title")
        body = render_message(
            "page",
            "holding",
            {"incident": update.incident, "advice": [], "next_by": NOW, "app_names": []},
        )
    assert title == "Problema del servicio: Follow app alerts"
    assert "Seguimos trabajando" in body


def test_an_admin_override_replaces_the_file_for_its_locale(update):
    MessageTemplate.objects.create(
        channel="push",
        kind="opened",
        part="title",
        locale="en",
        body="Heads up: {{ incident.name }}",
    )
    assert render_message("push", "opened", context(update, "opened"), "title").startswith(
        "Heads up:"
    )
    with translation.override("es"):
        assert render_message("push", "opened", context(update, "opened"), "title").startswith(
            "Problema"
        )


def test_an_override_over_the_limit_is_a_clear_error(update):
    MessageTemplate.objects.create(
        channel="x", kind="update", part="body", locale="en", body="{{ update.body }}"
    )
    update.body = "word " * 80
    with pytest.raises(MessageTooLong, match=r"x body: 399 weighted characters; the limit is 280"):
        render_message("x", "update", context(update, "update"), "body")


def test_sms_segments_gsm7_and_ucs2():
    assert lengths.sms_count("a" * 160) == lengths.SmsCount("GSM-7", 160, 1)
    assert lengths.sms_count("a" * 161).segments == 2
    assert lengths.sms_count("a" * 306).segments == 2
    assert lengths.sms_count("a" * 307).segments == 3
    assert lengths.sms_count("€" * 80) == lengths.SmsCount("GSM-7", 160, 1)
    assert lengths.sms_count("ñ" * 160).encoding == "GSM-7"
    assert lengths.sms_count("á" * 70) == lengths.SmsCount("UCS-2", 70, 1)
    assert lengths.sms_count("á" * 71).segments == 2
    assert lengths.sms_count("🩸" * 35) == lengths.SmsCount("UCS-2", 70, 1)


def test_sms_over_the_segment_limit_names_segments_and_encoding():
    with pytest.raises(
        MessageTooLong, match=r"4 segments \(UCS-2, 202 characters\); the limit is 3"
    ):
        limits.check("sms", "body", "á" * 202)


def test_x_counts_links_as_23_and_wide_characters_as_2():
    assert lengths.x_weight("https://example.com/" + "a" * 300) == 23
    assert lengths.x_weight("a " + "https://example.com/a/very/long/path") == 25
    assert lengths.x_weight("日本") == 4
    limits.check("x", "body", "a" * 280)
    with pytest.raises(MessageTooLong):
        limits.check("x", "body", "日" * 141)


def test_bluesky_counts_graphemes_and_mastodon_characters():
    family = "👨‍👩‍👧"
    assert lengths.graphemes(family * 300) == 300
    limits.check("bluesky", "body", family * 300)
    with pytest.raises(MessageTooLong, match="301 graphemes; the limit is 300"):
        limits.check("bluesky", "body", family * 301)
    limits.check("mastodon", "body", "a" * 476 + " https://example.com/" + "b" * 100)
    with pytest.raises(MessageTooLong, match="501 characters; the limit is 500"):
        limits.check("mastodon", "body", "a" * 501)


def test_push_title_and_body_limits():
    limits.check("push", "title", "a" * 65)
    with pytest.raises(MessageTooLong, match="push title: 66 characters; the limit is 65"):
        limits.check("push", "title", "a" * 66)
    with pytest.raises(MessageTooLong, match="push body"):
        limits.check("push", "body", "a" * 241)


def test_settings_override_a_channels_declared_limit(settings):
    settings.MESSAGE_LIMITS = {"PUSH_TITLE": 10, "SMS_MAX_SEGMENTS": 1}
    with pytest.raises(MessageTooLong, match="push title: 11 characters; the limit is 10"):
        limits.check("push", "title", "a" * 11)
    with pytest.raises(MessageTooLong, match="the limit is 1 segments"):
        limits.check("sms", "body", "a" * 161)
    limits.check("push", "body", "a" * 240)


def test_wording_that_is_no_channels_has_no_limit():
    limits.check("page", "", "a" * 100_000)
    limits.check("email", "subject", "a" * 1000)


def test_a_holding_update_while_monitoring_says_it_works_again(update):
    incident = update.incident
    incident.status = "monitoring"
    body = render_message("page", "holding", {"incident": incident, "advice": [], "app_names": []})
    push = render_message("push", "holding", context(update, "holding"), "body")
    assert "it is working again and we are still watching it closely" in body
    assert push.startswith("Working again; we are still watching it closely.")
