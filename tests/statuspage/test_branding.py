"""Branding from settings: name, logo, accent colour, links; pages are briefly cacheable."""

from __future__ import annotations

import pytest

from tests.factories import make_component

pytestmark = pytest.mark.django_db


@pytest.fixture
def branded(settings):
    settings.STATUSPAGE = {
        **settings.STATUSPAGE,
        "NAME": "Acme Health status",
        "LOGO_URL": "/static/logo.svg",
        "HOME_URL": "https://acme.example/",
        "BRAND_COLOUR": "#5a2ca0",
        "SUPPORT_URL": "https://acme.example/help",
    }


def test_the_page_carries_name_logo_colour_and_links(client, branded):
    make_component()
    html = client.get("/").content.decode()
    assert "<title>Acme Health status</title>" in html
    assert '<img src="/static/logo.svg" alt="" height="32"> Acme Health status' in html
    assert ":root { --brand: #5a2ca0; }" in html
    assert '<a href="https://acme.example/">Back to Acme Health status</a>' in html
    assert '<a class="support" href="https://acme.example/help">Contact support</a>' in html


def test_a_colour_that_is_not_plain_hex_never_reaches_the_style(client, settings):
    settings.STATUSPAGE = {**settings.STATUSPAGE, "BRAND_COLOUR": "red;}</style><script>x()"}
    html = client.get("/").content.decode()
    assert "--brand:" not in html and "<script>x()" not in html


def test_pages_are_briefly_cacheable_per_language(client):
    response = client.get("/")
    assert "public" in response["Cache-Control"] and "max-age=10" in response["Cache-Control"]
    assert "Cookie" in response["Vary"] and "Accept-Language" in response["Vary"]
