"""SVG badges: overall status, component status and 90-day uptime, valid SVG, cacheable."""

from __future__ import annotations

from datetime import timedelta
from xml.etree import ElementTree

import pytest
import time_machine

from statuspage.models import Component
from statuspage.picture.uptime import rollup
from tests.clock import NOW
from tests.factories import make_component, open_outage_at

pytestmark = pytest.mark.django_db
SVG = "{http://www.w3.org/2000/svg}"


def badge(client, path):
    response = client.get(path)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml; charset=utf-8"
    assert response["Access-Control-Allow-Origin"] == "*"
    root = ElementTree.fromstring(response.content)
    texts = [t.text for t in root.iter(f"{SVG}text")]
    fill = root.findall(f".//{SVG}g/{SVG}rect")[1].get("fill")
    return root.find(f"{SVG}title").text, texts, fill


def test_overall_badge_says_the_headline_in_its_colour(client):
    open_outage_at(NOW)
    title, texts, fill = badge(client, "/badge.svg")
    assert texts == ["status", "Major System Outage"] and fill == "#cf222e"
    assert title == "status: Major System Outage"


def test_component_badge_shows_its_status(client):
    incident = open_outage_at(NOW)
    component = incident.components.get()
    _, texts, fill = badge(client, f"/badges/{component.public_id}.svg")
    assert texts == ["Follow app alerts", "Major outage"] and fill == "#cf222e"


def test_uptime_badge_shows_ninety_day_uptime(client):
    with time_machine.travel(NOW - timedelta(days=1), tick=False):
        component = make_component()
    with time_machine.travel(NOW + timedelta(hours=21, minutes=36), tick=False):
        component.set_status("major_outage")
    with time_machine.travel(NOW + timedelta(hours=22), tick=False):
        rollup(NOW.date() - timedelta(days=1), NOW.date(), NOW + timedelta(hours=22))
        _, texts, fill = badge(client, f"/badges/{component.public_id}/uptime.svg")
    assert texts[0] == "uptime 90 days"
    assert texts[1] == f"{100 * (1 - 0.4 / (23 + 23)):.2f}%", "24 min down in 46 h observed"
    assert fill == "#9a6700"


def test_component_names_are_escaped_in_the_svg(client):
    component = Component.objects.create(name='A & <B> "C"')
    title, texts, _ = badge(client, f"/badges/{component.public_id}.svg")
    assert texts[0] == 'A & <B> "C"'


def test_hidden_and_unknown_components_have_no_badge(client):
    hidden = Component.objects.create(name="Internal", showcase=False)
    assert client.get(f"/badges/{hidden.public_id}.svg").status_code == 404
    assert client.get("/badges/nope/uptime.svg").status_code == 404


def test_badges_revalidate_with_304(client):
    make_component()
    first = client.get("/badge.svg")
    assert client.get("/badge.svg", HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304
