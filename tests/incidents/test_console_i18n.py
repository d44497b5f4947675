"""The staff console in English and Spanish: every string of its templates, its staff alerts
and its Python (forms, flash messages) is translated, and it switches language like the
public site does."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
import time_machine
from django.conf import settings
from django.urls import reverse
from django.utils import translation

from incidents.response import workflow
from statuspage.models import Verdict
from tests.clock import NOW
from tests.statuspage.test_i18n import SAME_IN_SPANISH, template_strings, untranslated

pytestmark = pytest.mark.django_db

BASE = Path(settings.BASE_DIR)
TEMPLATES = BASE / "templates"
CONSOLE_TEMPLATES = [
    *sorted((TEMPLATES / "incidents").glob("*.html")),
    *sorted((TEMPLATES / "messages" / "staff").glob("*.txt")),
]
CONSOLE_PYTHON = sorted((BASE / "incidents" / "console").glob("*.py"))
# Only placeholders and punctuation, or a technical word Spanish keeps.
SAME = SAME_IN_SPANISH | {"%(component)s (%(probe)s): %(warning)s", "pid", "%(minutes)s min"}
GETTEXT = {"_", "gettext", "gettext_lazy", "pgettext", "ngettext"}


def python_strings(path: Path) -> set[str]:
    """The literal first argument of every gettext call in a module."""
    return {
        node.args[0].value
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in GETTEXT
        and node.args
        and isinstance(node.args[0], ast.Constant)
    }


@pytest.mark.parametrize("path", CONSOLE_TEMPLATES, ids=lambda p: str(p.relative_to(TEMPLATES)))
def test_every_console_template_string_has_a_spanish_translation(path):
    assert untranslated(path, SAME) == []


@pytest.mark.parametrize("path", CONSOLE_PYTHON, ids=lambda p: p.name)
def test_every_console_python_string_has_a_spanish_translation(path):
    with translation.override("es"):
        missing = [s for s in python_strings(path) if translation.gettext(s) == s]
    assert missing == []


def test_the_extractors_find_strings_so_the_checks_above_mean_something():
    assert "Open incidents" in template_strings(TEMPLATES / "incidents" / "_dashboard_live.html")
    assert "Say what is happening in at least a short sentence." in python_strings(
        BASE / "incidents" / "console" / "forms.py"
    )
    assert "Posted. Delivery progress is below." in python_strings(
        BASE / "incidents" / "console" / "views.py"
    )


@pytest.fixture
def incident(down_probe):
    with time_machine.travel(NOW, tick=False):
        return workflow.handle_verdict(down_probe, Verdict.CONFIRMED_DOWN, NOW)


def test_a_spanish_browser_gets_the_console_in_spanish(client, support_user, incident):
    client.force_login(support_user)
    html = client.get(reverse("console-dashboard"), HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert '<html lang="es">' in html
    assert "Incidencias abiertas" in html and "Confirmar recepción" in html
    assert "Sin confirmar: se está avisando al personal de guardia" in html
    assert "Avisar al personal de guardia" in html, "the clock's steps are in Spanish too"


def test_the_console_switches_language_like_the_public_site(client, support_user, incident):
    client.force_login(support_user)
    page = reverse("console-incident", args=[incident.public_id])
    html = client.get(page).content.decode()
    assert f'href="/language/es?next={page}"' in html
    response = client.get(f"/language/es?next={page}")
    assert response.status_code == 302 and response["Location"] == page
    html = client.get(page, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Publicar una actualización" in html and "Vista previa y confirmar" in html


def test_a_spanish_console_previews_the_messages_in_the_default_language(
    client, support_user, incident
):
    """Topics, on-call staff and social accounts get the default language, and a subscriber's
    translation over a limit falls back to it: that is what the preview must show and check."""
    client.force_login(support_user)
    data = {
        "incident": incident.public_id,
        "status": "identified",
        "impact": "critical",
        "body": "We found the cause: an overloaded queue. Alarms are late by about 20 minutes.",
        "component_status": "partial_outage",
        "next_update_minutes": 30,
    }
    english = client.post(reverse("console-preview"), data, HTTP_ACCEPT_LANGUAGE="en")
    spanish = client.post(reverse("console-preview"), data, HTTP_ACCEPT_LANGUAGE="es")
    texts = [re.findall(r"<pre>(.*?)</pre>", r.content.decode(), re.S) for r in (english, spanish)]
    assert texts[0] and texts[0] == texts[1]
    assert "Exactamente lo que recibirá cada público" in spanish.content.decode()
