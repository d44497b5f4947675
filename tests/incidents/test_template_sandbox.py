"""Admin overrides of message templates render in a sandbox: the shipped wording works as
an override unchanged, but an override cannot load other tag libraries, dump the context,
include files outside messages/, or walk from its context to managers, other rows, users,
secrets or settings."""

from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.template import TemplateSyntaxError

from incidents.messages import render_message
from incidents.models import MessageTemplate
from incidents.overrides import compile_override, render_override
from incidents.response import workflow
from notifiers.channels.context import message_context
from notifiers.models import Announcement
from statuspage.models import Verdict
from tests.clock import NOW

pytestmark = pytest.mark.django_db

MESSAGES = Path(settings.BASE_DIR) / "templates" / "messages"
# The common kinds on the channels whose files include shared parts and use the filters.
SHIPPED = sorted(
    p.relative_to(MESSAGES).as_posix()
    for kind in ("opened", "update", "resolved")
    for p in MESSAGES.glob(f"*/{kind}*.txt")
    if p.parent.name in {"sms", "email", "push", "webhook"}
)


@pytest.fixture
def update(down_probe):
    incident = workflow.handle_verdict(down_probe, Verdict.CONFIRMED_DOWN, NOW)
    update = incident.updates.get()
    update.author = User.objects.create_user("sam", password="pw-for-tests-only")
    update.save()
    return update


def full_context(update) -> dict:
    announcement = Announcement(
        update=update, channel="sms", recipients="subscribers", created_at=NOW
    )
    return message_context(announcement)


@pytest.mark.parametrize("path", SHIPPED)
def test_the_shipped_wording_renders_the_same_as_a_sandboxed_override(update, path):
    channel, name = path.removesuffix(".txt").split("/")
    kind, _, part = name.partition("_")
    context = full_context(update)
    shipped = render_message(channel, kind, context, part)
    MessageTemplate.objects.create(
        channel=channel, kind=kind, part=part, locale="en", body=(MESSAGES / path).read_text()
    )
    assert render_message(channel, kind, context, part) == shipped


@pytest.mark.parametrize(
    "source",
    [
        "{% load static %}{% static 'x' %}",
        "{% load admin_urls %}",
        "{% load log %}{% get_admin_log 10 as log %}{{ log }}",
        "{% debug %}",
        '{% include "admin/base.html" %}',
        '{% include "../config/settings.py" %}',
        "{% include name %}",
        '{% extends "base.html" %}',
        '{% include "messages/../../config/settings.py" %}',
        "{{ incident._meta.app_config }}",
        "{{ incident.__class__.objects.all }}",
    ],
)
def test_hostile_tags_are_refused_when_the_override_is_compiled(source):
    with pytest.raises(TemplateSyntaxError):
        compile_override(source)


@pytest.mark.parametrize(
    "source",
    [
        "{{ incident.components.model.objects.all }}",
        "{{ incident.updates.all }}",
        "{{ incident.policy.steps.all }}",
        "{{ update.author.password }}",
        "{{ update.author.user_permissions.all }}",
        "{{ update.incident.origin_probe.headers }}",
        "{{ update.incident.origin_probe.url }}",
        "{{ update.incident.origin_probe.ping_key }}",
        "{{ announcement.update.incident.save }}",
        "{{ incident.delete }}",
        "{{ settings.SECRET_KEY }}",
        "{{ incident.components.0.audiences.all }}",
        "{% for c in components %}{{ c.group.componentgroup_set.all }}{% endfor %}",
    ],
)
def test_an_override_cannot_walk_beyond_its_context(update, source):
    rendered = render_override(source, full_context(update))
    assert rendered.strip() in {"", "sam", "None"}, rendered
    assert settings.SECRET_KEY not in rendered


def test_plain_fields_forward_relations_and_labels_stay_available(update):
    source = (
        "{{ incident.name }}|{{ incident.get_impact_display }}|{{ update.kind }}|"
        "{{ incident.origin_probe.component.name }}|{{ update.author }}|"
        "{% load messaging %}{{ incident|component_names }}"
    )
    rendered = render_override(source, full_context(update))
    incident = update.incident
    assert rendered == (
        f"{incident.name}|{incident.get_impact_display()}|{update.kind}|"
        f"{incident.origin_probe.component.name}|sam|Follow app alerts"
    )


def test_the_admin_refuses_a_hostile_override_with_a_clear_error(client):
    client.force_login(User.objects.create_superuser("root", password="pw-for-tests-only"))
    response = client.post(
        "/admin/incidents/messagetemplate/add/",
        {
            "channel": "sms",
            "kind": "update",
            "part": "body",
            "locale": "en",
            "body": "{% load log %}{% debug %}",
        },
    )
    assert response.status_code == 200
    assert "Template error:" in response.content.decode()
    assert not MessageTemplate.objects.exists()


def test_a_stored_hostile_override_falls_back_to_the_shipped_wording(update):
    context = full_context(update)
    shipped = render_message("sms", "update", context, "body")
    MessageTemplate.objects.create(
        channel="sms", kind="update", part="body", locale="en", body="{% debug %}"
    )
    assert render_message("sms", "update", context, "body") == shipped
