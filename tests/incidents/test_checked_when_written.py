"""Checked when written: saving a component's advice or a template override in the admin
says, per channel and language, whether it fits and what will be cut, before anything is
sent; an override no shortening makes fit is refused."""

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from incidents.models import Incident, MessageTemplate
from incidents.response import workflow
from incidents.response.budgets import advice_fits, check_component
from notifiers.models import Delivery
from statuspage.models import Verdict
from tests.clock import NOW
from tests.factories import make_component
from tests.incidents.test_console import update_data

pytestmark = pytest.mark.django_db

LONG_ADVICE = "Stay in touch with the person you follow by phone. " * 6


@pytest.fixture
def admin_client(client, django_user_model):
    user = django_user_model.objects.create_superuser("root", password="a-long-test-password")
    client.force_login(user)
    return client


def test_short_advice_fits_every_channel_whole_in_every_language():
    component = make_component(advice="Check glucose with a meter.")
    assert advice_fits(component) == []
    languages = {fit.language for fit in check_component(component)}
    assert languages == {"en", "es"}


def test_long_advice_is_reported_cut_per_channel_and_language_and_nothing_is_kept():
    component = make_component(advice="Check glucose with a meter.")
    cuts = advice_fits(component, LONG_ADVICE)
    assert {(fit.channel, fit.language) for fit in cuts} >= {("sms", "en"), ("sms", "es")}
    assert all(fit.cut.advice is not None and not fit.error for fit in cuts)
    component.refresh_from_db()
    assert component.advice == "Check glucose with a meter."
    assert Incident.objects.count() == 0 and Delivery.objects.count() == 0


def test_saving_advice_in_the_admin_says_what_will_be_cut(admin_client):
    component = make_component(advice="")
    url = reverse("admin:statuspage_component_change", args=[component.id])
    data = {"name": component.name, "status": "operational", "position": 0, "advice": LONG_ADVICE}
    response = admin_client.post(url, {**data, "showcase": "on"}, follow=True)
    notes = [str(m) for m in get_messages(response.wsgi_request)]
    assert any(n.startswith("sms body (en, opened): the advice is cut to") for n in notes), notes
    assert any("(es, opened)" in n for n in notes)


def test_an_override_no_shortening_can_fit_is_refused(admin_client):
    data = {
        "channel": "x",
        "kind": "update",
        "part": "body",
        "locale": "en",
        "body": "{{ update.body }} " * 8,
    }
    response = admin_client.post(reverse("admin:incidents_messagetemplate_add"), data)
    assert response.status_code == 200
    assert "cannot be sent" in response.content.decode()
    assert not MessageTemplate.objects.exists()


def test_an_override_that_fits_only_shortened_is_saved_with_a_warning(admin_client):
    body = (
        '{% load messaging %}{{ incident.name }}: {% include "messages/_shared/short.txt" %} '
        + ("Please read our long explanation of what is going on. " * 3)
    )
    data = {"channel": "x", "kind": "opened", "part": "body", "locale": "en", "body": body}
    make_component(advice=LONG_ADVICE)
    response = admin_client.post(reverse("admin:incidents_messagetemplate_add"), data, follow=True)
    notes = [str(m) for m in get_messages(response.wsgi_request)]
    assert MessageTemplate.objects.count() == 1
    assert any(n.startswith("x body (en, opened): the advice") for n in notes), notes


def test_the_console_preview_says_what_is_cut_per_channel_and_language(
    client, support_user, down_probe
):
    incident = workflow.handle_verdict(down_probe, Verdict.CONFIRMED_DOWN, NOW)
    incident.components.update(advice=LONG_ADVICE)
    client.force_login(support_user)
    data = update_data(incident, body="We found the cause: an overloaded queue. " * 3)
    text = client.post(reverse("console-preview"), data).content.decode()
    assert "Shortened to fit: the advice is cut to" in text
    assert '<span class="label">body (es)</span>' in text
