"""Degrade, don't fail: a message over its channel's budget is shortened by rule (the
advice first, then the body), keeping the headline, "next update by" and the link; only a
message no step makes fit is an error."""

import pytest
from django.utils import translation

from incidents import limits
from incidents.limits import MessageTooLong
from incidents.messages import WHOLE, fitted, render_message
from incidents.models import MessageTemplate
from incidents.response import workflow
from notifiers import lengths
from notifiers.registry import registered
from statuspage.models import Verdict
from tests.clock import NOW

pytestmark = pytest.mark.django_db

# The demo's advice (statuspage/demo/setup.py) and four words more than the push body held.
LONG_ADVICE = (
    "Followers may not receive readings or alarms. Stay in touch with the person you "
    "follow by phone, and check glucose with a meter if in doubt. Do not delete or "
    "reinstall the app. Call your clinic if unsure."
)
BUDGETED = [
    (name, part.name)
    for name, cls in sorted(registered().items())
    for part in cls.parts
    if part.limit is not None
]
OPEN_KINDS = ["opened", "update", "holding", "recovering", "relapsed"]


@pytest.fixture
def update(down_probe):
    down_probe.component.advice = LONG_ADVICE
    down_probe.component.save()
    incident = workflow.handle_verdict(down_probe, Verdict.CONFIRMED_DOWN, NOW)
    return incident.updates.get()


def context(update, kind):
    update.kind = kind
    update.body = "We are looking into delayed alerts for followers. " * 3
    return {"incident": update.incident, "update": update, "page_name": "Acme Status"}


@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize("kind", OPEN_KINDS)
def test_long_advice_is_shortened_to_fit_every_budget_keeping_link_and_next_update(
    update, kind, language
):
    with translation.override(language):
        for channel, part in BUDGETED:
            result = fitted(channel, kind, context(update, kind), part)
            assert limits.problem(channel, part, result.text) == ""
            if part == "body" and channel in ("sms", "x", "bluesky", "mastodon"):
                assert f"/incidents/{update.incident.public_id}" in result.text
            if channel in ("sms", "x") and kind != "recovering":
                next_by = "Next update by" if language == "en" else "xima actualizaci"
                assert next_by in result.text, (channel, kind, result.text)


def test_the_advice_is_cut_before_the_body(update):
    result = fitted("x", "opened", context(update, "opened"), "body")
    assert result.shortened and result.cut.body is None and result.cut.advice is not None
    assert "Alerts and data may be delayed or missing." in result.text


def test_a_message_that_fits_is_left_whole(update):
    update.incident.components.update(advice="Check glucose with a meter.")
    result = fitted("x", "opened", context(update, "opened"), "body")
    assert result.cut == WHOLE and "Check glucose with a meter." in result.text


@pytest.mark.parametrize("kind", OPEN_KINDS)
def test_every_message_while_open_says_what_to_do_now(update, kind):
    update.incident.components.update(advice="Check glucose with a meter.")
    for channel in ("sms", "push", "x", "bluesky", "mastodon", "facebook"):
        text = render_message(channel, kind, context(update, kind), "body")
        assert "Check glucose with a meter." in text, (channel, kind)


def test_the_resolution_carries_no_advice(update):
    update.incident.components.update(advice="Check glucose with a meter.")
    update.status = "resolved"
    text = render_message("sms", "resolved", context(update, "resolved"), "body")
    assert "meter" not in text


def test_a_message_no_step_makes_fit_is_a_clear_error(update):
    MessageTemplate.objects.create(
        channel="x", kind="opened", part="body", locale="en", body="{{ update.body }}" * 3
    )
    with pytest.raises(MessageTooLong, match="still over with the advice and body cut"):
        fitted("x", "opened", context(update, "opened"), "body")


def test_a_spanish_text_drops_its_accents_before_anything_is_cut(update):
    """One "ó" makes a whole SMS UCS-2 (67 characters a segment instead of 153)."""
    with translation.override("es"):
        result = fitted("sms", "opened", context(update, "opened"), "body")
    assert result.folded and result.cut == WHOLE
    assert "Proxima actualizacion" in result.text and LONG_ADVICE in result.text
    assert lengths.sms_count(result.text).encoding == "GSM-7"


def test_folding_keeps_gsm7_letters_and_what_has_no_plain_letter():
    assert lengths.gsm7_fold("¿Qué pasó? Año, über, 🩸") == "¿Qué paso? Año, über, 🩸"
