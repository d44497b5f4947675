"""A support person at 3 a.m., on a phone, in English and in Spanish: log in, see the new
incident appear without a reload (the tab title counts it), acknowledge, find no error before
the first submit, post an update with its previews, and watch delivery reach "sent"."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.incidents.test_console_browser import PASSWORD, open_outage, support_person

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
ERRORS = ".field-error, .errorlist, .error, .form-errors"
WORDS = {
    "en": {
        "quiet": "No open incidents. All quiet.",
        "paged": "Not acknowledged: on-call staff are being paged",
        "acknowledge": "Acknowledge",
        "acknowledged": "Acknowledged by sam",
        "hint": "appears here as soon as the form is filled in",
        "preview": "Preview and confirm",
        "confirm_title": "Confirm the update",
        "confirm": "Confirm and publish",
        "posted": "Posted.",
        "sent": "sent 2",
        "required": "Title (new incidents): This field is required.",
        "console": "Staff console",
    },
    "es": {
        "quiet": "No hay incidencias abiertas. Todo tranquilo.",
        "paged": "Sin confirmar: se está avisando al personal de guardia",
        "acknowledge": "Confirmar recepción",
        "acknowledged": "Recepción confirmada por sam",
        "hint": "aparece aquí en cuanto el formulario esté completo",
        "preview": "Vista previa y confirmar",
        "confirm_title": "Confirmar la actualización",
        "confirm": "Confirmar y publicar",
        "posted": "Publicada.",
        "sent": "enviado 2",
        "required": "Título (incidencias nuevas): Este campo es obligatorio.",
        "console": "Consola del personal",
    },
}


@pytest.fixture
def phone(browser):
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    yield context.new_page()
    context.close()


def fits_the_screen(page) -> bool:
    """Nothing wider than the phone: a mobile browser would zoom the whole page out."""
    return page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def log_in(page, url: str, language: str) -> None:
    page.goto(f"{url}/manage/")
    if language != "en":
        page.click(f".languages a[lang='{language}']")  # the switch, as on the public page
    expect(page.locator("html")).to_have_attribute("lang", language)
    page.fill("#id_username", "sam")
    page.fill("#id_password", PASSWORD)
    page.click("main button[type=submit]")


@pytest.mark.parametrize("language", ["en", "es"])
def test_the_support_flow_on_a_phone(language, live_server, phone, task_queue, settings):
    settings.CONSOLE_REFRESH_SECONDS = 0.5
    words = WORDS[language]
    support_person()
    page = phone
    log_in(page, live_server.url, language)
    expect(page.locator("#live")).to_contain_text(words["quiet"])
    assert fits_the_screen(page)

    incident = open_outage()  # while the dashboard is open: it must come by itself
    task_queue()
    card = page.locator(f"[data-incident='{incident.public_id}']")
    expect(card).to_contain_text(words["paged"])
    expect(page).to_have_title(re.compile(r"^\(1\) " + words["console"]))

    card.get_by_role("button", name=words["acknowledge"]).click()
    expect(page.locator("#ack-state")).to_contain_text(words["acknowledged"])
    expect(page.locator("#preview")).to_contain_text(words["hint"])
    expect(page.locator(ERRORS)).to_have_count(0)
    assert fits_the_screen(page)

    page.select_option("#id_status", "identified")
    page.fill("#id_body", "We found the cause: an overloaded queue. Alarms are late by 20 min.")
    expect(page.locator("#preview [data-channel='sms']")).to_contain_text(
        "We found the cause: an overloaded queue."
    )
    expect(page.locator("#preview [data-channel='push']")).to_be_visible()
    page.get_by_role("button", name=words["preview"]).click()
    expect(page.locator("h1")).to_contain_text(words["confirm_title"])
    page.get_by_role("button", name=words["confirm"]).click()
    expect(page.locator(".messages")).to_contain_text(words["posted"])

    update = incident.updates.get(kind="update")
    task_queue()  # fan out and send through the real SDKs to the sandbox
    row = page.locator(f"[data-update='{update.public_id}'] [data-channel='push']")
    expect(row).to_contain_text(words["sent"])  # the progress refreshes by itself
    assert fits_the_screen(page)


@pytest.mark.parametrize("language", ["en", "es"])
def test_open_an_incident_shows_errors_only_after_a_submit(language, live_server, phone):
    support_person()
    page = phone
    log_in(page, live_server.url, language)
    page.goto(f"{live_server.url}/manage/incidents/new")
    expect(page.locator("#preview")).to_contain_text(WORDS[language]["hint"])
    expect(page.locator(ERRORS)).to_have_count(0)
    page.get_by_role("button", name=WORDS[language]["preview"]).click()
    title = page.locator(".field", has=page.locator("#id_name"))
    expect(title.locator(".field-error")).to_have_text(WORDS[language]["required"])
    assert fits_the_screen(page)
