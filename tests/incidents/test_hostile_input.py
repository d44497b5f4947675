"""Hostile input: every way text and times come in refuses what the feeds, the databases and
the clock cannot carry, with a clear 400 or field error and nothing changed; rows already
stored with such text never break the public feeds."""

import json
import textwrap

import feedparser
import pytest
import time_machine
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.urls import reverse

from incidents.console.api_auth import issue_token
from incidents.models import Incident
from incidents.response import workflow
from statuspage.models import Component, Verdict
from tests.clock import NOW
from tests.factories import make_component, open_outage_at

pytestmark = pytest.mark.django_db

BAD_TEXTS = ["a\u0004b", "nul\u0000", "bell\u0007", "a\ud800b", "esc\u001b[31m"]
BAD_TIMES = [
    "2030-01-01T02:60:00Z",
    "0001-01-01T00:00:00+14:00",
    "9999-12-31T23:59:59-14:00",
    "1900-01-01T00:00:00Z",
    "2030-13-01T00:00:00Z",
    "2030-01-01",
    "2030-01-01T00:00:00",
]


@pytest.fixture
def api(client, support_user):
    key = issue_token(support_user, "fuzz")

    def call(method, path, body):
        raw = json.dumps(
            body
        )  # ensure_ascii: a lone surrogate travels as \ud800, as attackers send it
        return getattr(client, method)(
            f"/api/manage/v1/{path}",
            data=raw,
            content_type="application/json",
            HTTP_AUTHORIZATION=f"OAuth {key}",
        )

    return call


def create(api, **fields):
    return api("post", "incidents", {"incident": {"name": "x", "body": "y", **fields}})


def test_a_nested_object_as_a_component_status_is_a_clear_400(api):
    component = make_component()
    response = create(api, components={component.public_id: {}})
    assert response.status_code == 400
    assert "component id to status" in response.json()["fields"]["components"]
    response = create(api, components={"a": {}})
    assert response.status_code == 400 and "components" in response.json()["fields"]
    assert not Incident.objects.incidents().exists()


@pytest.mark.parametrize("bad", [{"a": 1}, [1], 3, None, True])
def test_non_string_choices_are_400s_not_type_errors(api, bad):
    response = create(api, status=bad, impact_override=bad)
    assert response.status_code in (201, 400)
    if bad is not None:
        assert response.status_code == 400


@pytest.mark.parametrize("value", BAD_TEXTS)
@pytest.mark.parametrize("field", ["name", "body"])
def test_control_characters_and_lone_surrogates_are_refused_by_the_api(api, field, value):
    response = create(api, **{field: value})
    assert response.status_code == 400, response.content
    assert field in response.json()["fields"]
    assert not Incident.objects.incidents().exists()


def test_tab_and_newlines_are_still_welcome(api):
    response = create(api, name="Alarms\tdelayed", body="Line one\r\nLine two\n")
    assert response.status_code == 201


@pytest.mark.parametrize("moment", BAD_TIMES)
def test_impossible_or_out_of_range_maintenance_times_are_400s(api, moment):
    component = make_component()
    response = create(
        api,
        status="scheduled",
        components={component.public_id: "under_maintenance"},
        scheduled_for=moment,
        scheduled_until="2031-01-01T00:00:00Z",
    )
    assert response.status_code == 400
    assert "scheduled_for" in response.json()["fields"]


@pytest.mark.parametrize("minutes", [10**30, -1, True, 1.5])
def test_huge_or_odd_minutes_are_400s(api, minutes):
    component = make_component()
    response = create(
        api,
        status="scheduled",
        components={component.public_id: "under_maintenance"},
        scheduled_for="2030-01-01T00:00:00Z",
        scheduled_until="2030-01-01T02:00:00Z",
        announce_before_minutes=[minutes],
    )
    assert response.status_code == 400
    assert "announce_before_minutes" in response.json()["fields"]


def test_a_component_name_with_a_control_character_is_refused(client, admin_role_user):
    key = issue_token(admin_role_user, "fuzz")

    def api(method, path, body):
        return client.post(
            f"/api/manage/v1/{path}",
            data=json.dumps(body),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"OAuth {key}",
        )

    response = api("post", "components", {"component": {"name": "a\u0004b"}})
    assert response.status_code == 400 and "name" in response.json()["fields"]
    response = api("post", "components", {"component": {"name": "ok", "group_id": {"x": 1}}})
    assert response.status_code == 400 and "group_id" in response.json()["fields"]
    assert not Component.objects.exists()


def test_a_nul_in_an_id_of_the_path_is_a_404(client, support_user):
    key = issue_token(support_user, "fuzz")
    response = client.get("/api/manage/v1/incidents/a%00b", HTTP_AUTHORIZATION=f"OAuth {key}")
    assert response.status_code == 404


@pytest.mark.parametrize("path", ["/history.rss", "/history.atom"])
def test_a_stored_control_character_does_not_break_the_feeds(client, path):
    incident = open_outage_at(NOW)
    Incident.objects.filter(id=incident.id).update(name="a\u0004b\u000cc")
    incident.updates.update(body="body \u0007 with a bell")
    Component.objects.update(name="comp\u0001onent")
    response = client.get(path)
    assert response.status_code == 200
    parsed = feedparser.parse(response.content)
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    assert parsed.entries[0].title.startswith("abc")


def test_the_console_refuses_control_characters_with_a_field_error(
    client, support_user, down_probe
):
    with time_machine.travel(NOW, tick=False):
        incident = workflow.handle_verdict(down_probe, Verdict.CONFIRMED_DOWN, NOW)
        client.force_login(support_user)
        response = client.post(
            reverse("console-post-update", args=[incident.public_id]),
            {
                "status": "identified",
                "impact": "minor",
                "body": "We found the cause \u0004 of the delay in alarms.",
                "component_status": "partial_outage",
                "next_update_minutes": 30,
                "confirm": "on",
            },
        )
    assert response.status_code == 400
    assert "Control characters other than tab and newline are not allowed." in (
        response.content.decode()
    )
    assert not incident.updates.filter(kind="update").exists()


def test_the_admin_refuses_control_characters(client):
    admin = User.objects.create_superuser("root", password="pw-for-tests-only")
    client.force_login(admin)
    component = make_component()
    response = client.post(
        f"/admin/statuspage/component/{component.pk}/change/",
        {"name": "Broken\u0004name", "status": "operational", "description": "", "advice": ""},
    )
    assert response.status_code == 200, "the form is shown again with its error"
    assert "Control characters other than tab and newline are not allowed." in (
        response.content.decode()
    )
    component.refresh_from_db()
    assert component.name != "Broken\u0004name"


def test_load_probes_refuses_control_characters(tmp_path):
    path = tmp_path / "probes.yaml"
    path.write_text(
        textwrap.dedent(
            """\
            components:
              - name: "Bad\\x04name"
            """
        )
    )
    with pytest.raises(CommandError, match="Control characters"):
        call_command("load_probes", str(path))
    assert not Component.objects.exists()
