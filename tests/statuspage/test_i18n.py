"""English and Spanish: every string of the public templates is translated, the reader's
language comes from Accept-Language or the switcher, and the API stays in Statuspage's English."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import translation
from django.utils.translation.template import templatize

from tests.clock import NOW
from tests.factories import open_outage_at

pytestmark = pytest.mark.django_db

TEMPLATES = Path(settings.BASE_DIR) / "templates"
PUBLIC_TEMPLATES = [
    TEMPLATES / "base.html",
    *sorted((TEMPLATES / "statuspage").rglob("*.*")),
    *sorted((TEMPLATES / "messages" / "banner").glob("*.txt")),
]
SAME_IN_SPANISH = {"API", "RSS"}
LITERAL = r"(u'(?:[^'\\]|\\.)*')"


def template_strings(path: Path) -> set[str]:
    code = templatize(path.read_text(), origin=str(path))
    singles = {ast.literal_eval(m) for m in re.findall(r"(?<![n])gettext\(" + LITERAL, code)}
    plurals = {ast.literal_eval(m) for m in re.findall(r"ngettext\(" + LITERAL, code)}
    return singles | plurals


def untranslated(path: Path, same_in_spanish: set[str] = SAME_IN_SPANISH) -> list[str]:
    """The template's strings that have no Spanish translation."""
    with translation.override("es"):
        return [
            s
            for s in template_strings(path)
            if translation.gettext(s) == s and s not in same_in_spanish
        ]


@pytest.mark.parametrize("path", PUBLIC_TEMPLATES, ids=lambda p: str(p.relative_to(TEMPLATES)))
def test_every_template_string_has_a_spanish_translation(path):
    assert untranslated(path) == []


def test_the_extractor_finds_strings_so_the_check_above_means_something():
    assert "Active incidents" in template_strings(TEMPLATES / "statuspage" / "index.html")
    assert "Status unknown" in template_strings(TEMPLATES / "statuspage/widget/banner.js")


def test_spanish_readers_get_the_page_in_spanish(client):
    open_outage_at(NOW)
    response = client.get("/", HTTP_ACCEPT_LANGUAGE="es-ES,es;q=0.9,en;q=0.5")
    html = response.content.decode()
    assert '<html lang="es">' in html
    assert "Interrupción grave del sistema" in html
    assert "Incidencias activas" in html and "Qué hacer ahora:" in html
    assert "Accept-Language" in response["Vary"]


def test_english_stays_the_default_for_other_languages(client):
    html = client.get("/", HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert '<html lang="en">' in html and "Components" in html


def test_the_switcher_remembers_the_choice_and_returns_to_the_same_page(client):
    response = client.get("/language/es", {"next": "/history"})
    assert response.status_code == 302 and response["Location"] == "/history"
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "es"
    html = client.get("/history", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Historial de incidencias" in html


def test_the_switcher_refuses_unknown_languages_and_foreign_redirects(client):
    assert client.get("/language/xx").status_code == 404
    response = client.get("/language/es", {"next": "https://evil.example/"})
    assert response["Location"] == "/"


def test_the_page_links_to_the_other_language(client):
    html = client.get("/").content.decode()
    assert '<a href="/language/es?next=/" lang="es" hreflang="es">Español</a>' in html


def test_the_banner_speaks_the_reader_language_but_the_v2_api_stays_english(client):
    open_outage_at(NOW)
    banner = client.get("/api/v1/banner.json", HTTP_ACCEPT_LANGUAGE="es").json()
    assert banner["title"] == "Problema en el servicio"
    status = client.get("/api/v2/status.json", HTTP_ACCEPT_LANGUAGE="es").json()["status"]
    assert status["description"] == "Major System Outage"
