"""The console at 3 a.m.: no error before the first submit, errors next to the field in its
label's words, and a dashboard that refreshes itself with the unacknowledged count."""

from __future__ import annotations

import re

import pytest
import time_machine
from django.urls import reverse

from incidents.response import workflow
from statuspage.models import Verdict
from tests.clock import NOW
from tests.factories import open_by_staff_elsewhere

pytestmark = pytest.mark.django_db
ERROR_MARKS = ("field-error", "errorlist", "This field is required", 'class="error"')


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def incident(down_probe):
    return workflow.handle_verdict(down_probe, Verdict.CONFIRMED_DOWN, NOW)


def shows_an_error(html: str) -> bool:
    return any(mark in html for mark in ERROR_MARKS)


def field_block(html: str, field_id: str) -> str:
    """The markup of the field wrapper holding the control with this id."""
    match = re.search(
        r'<div class="field[^"]*">(?:(?!<div class="field).)*?id="' + field_id + '"', html, re.S
    )
    assert match, field_id
    return match.group(0)


def test_open_an_incident_shows_no_error_before_the_first_submit(client, support_user):
    client.force_login(support_user)
    html = client.get(reverse("console-new-incident")).content.decode()
    assert 'id="id_name"' in html and not shows_an_error(html)


def test_post_an_update_shows_no_error_before_the_first_submit(client, support_user, incident):
    client.force_login(support_user)
    html = client.get(reverse("console-incident", args=[incident.public_id])).content.decode()
    assert 'id="update-form"' in html and not shows_an_error(html)


def test_the_live_preview_of_an_empty_form_is_a_hint_not_an_error(client, support_user):
    client.force_login(support_user)
    response = client.post(reverse("console-preview"), {"status": "investigating"})
    html = response.content.decode()
    assert "appears here as soon as the form is filled in" in html
    assert not shows_an_error(html) and "name:" not in html and "body:" not in html


def test_after_a_submit_each_error_is_next_to_its_field_in_its_label_words(client, support_user):
    client.force_login(support_user)
    response = client.post(
        reverse("console-new-incident"),
        {"status": "investigating", "impact": "major", "next_update_minutes": 30},
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert "Title (new incidents): This field is required." in field_block(html, "id_name")
    assert "Message: This field is required." in field_block(html, "id_body")
    assert "name:" not in html and "body:" not in html


def test_errors_speak_spanish_to_a_spanish_console(client, support_user, incident):
    client.force_login(support_user)
    response = client.post(
        reverse("console-post-update", args=[incident.public_id]),
        {"status": "identified", "impact": "major", "body": "short", "next_update_minutes": 30},
        HTTP_ACCEPT_LANGUAGE="es",
    )
    block = field_block(response.content.decode(), "id_body")
    assert "Mensaje: Explique lo que pasa con al menos una frase corta." in block


def live(client) -> dict:
    response = client.get(reverse("console-live"))
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    return response.json()


def test_the_live_dashboard_brings_a_new_incident_and_counts_it_in_the_title(
    client, support_user, down_probe
):
    client.force_login(support_user)
    assert live(client)["unacknowledged"] == 0
    assert "No open incidents" in live(client)["html"]
    incident = workflow.handle_verdict(down_probe, Verdict.CONFIRMED_DOWN, NOW)
    answer = live(client)
    assert answer["unacknowledged"] == 1 and answer["title"].startswith("(1) Staff console")
    assert f'data-incident="{incident.public_id}"' in answer["html"]
    assert "Page on-call staff" in answer["html"], "the fired step shows too"
    workflow.acknowledge(incident, support_user, NOW)
    answer = live(client)
    assert answer["unacknowledged"] == 0 and not answer["title"].startswith("(")


def test_the_dashboard_title_counts_unacknowledged_incidents_on_first_load(
    client, support_user, incident
):
    client.force_login(support_user)
    html = client.get(reverse("console-dashboard")).content.decode()
    assert "<title>(1) Staff console" in html
    assert 'id="live"' in html and f'data-src="{reverse("console-live")}"' in html


def test_the_live_dashboard_answers_in_a_fixed_number_of_queries(
    client, support_user, down_probe, django_assert_max_num_queries
):
    client.force_login(support_user)
    workflow.handle_verdict(down_probe, Verdict.CONFIRMED_DOWN, NOW)
    # 20, the SMS sign-up budget alert, the failed sends and the escalation levels
    with django_assert_max_num_queries(23) as one:
        live(client)
    open_by_staff_elsewhere(support_user)
    with django_assert_max_num_queries(len(one.captured_queries)):
        assert live(client)["unacknowledged"] == 4


def test_the_live_dashboard_needs_the_console_permission(client, outsider):
    assert client.get(reverse("console-live")).status_code == 302
    client.force_login(outsider)
    assert client.get(reverse("console-live")).status_code == 403
