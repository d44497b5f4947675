"""An audience page's own sign-in (`/a/<slug>/login`): a signed-out reader is sent there for
every slug alike, signs in with the same throttled authentication as staff, and goes back to
the page (only ever to a page of this site); a member still cannot reach /manage/ nor /admin/."""

from __future__ import annotations

import re

import pytest
import time_machine

from tests.clock import NOW
from tests.statuspage.private_world import PRIVATE_NAME, member

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-test-password"
LOGIN = "/a/clinic-network/login"
ATTACKER = {"REMOTE_ADDR": "203.0.113.5"}


@pytest.fixture
def nurse(world):
    return member(world, "nurse", password=PASSWORD)


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def sign_in(client, url=LOGIN, password=PASSWORD, **extra):
    return client.post(url, {"username": "nurse", "password": password, **extra}, **ATTACKER)


def test_a_signed_out_reader_is_sent_to_the_page_s_own_sign_in(client, world):
    answer = client.get("/a/clinic-network/history")
    assert answer.status_code == 302
    assert answer["Location"] == f"{LOGIN}?next=/a/clinic-network/history"


def test_the_sign_in_page_names_the_page_and_wears_the_public_branding(client, settings):
    settings.STATUSPAGE = {**settings.STATUSPAGE, "NAME": "Acme status"}
    page = client.get(f"{LOGIN}?next=/a/clinic-network/")
    text = page.content.decode()
    assert page.status_code == 200
    assert "Sign in to see Clinic network's status" in text
    assert "Acme status" in text and "Staff log in" not in text
    assert 'name="next" value="/a/clinic-network/"' in text


def test_the_sign_in_page_is_in_spanish_too(client):
    page = client.get(LOGIN, HTTP_ACCEPT_LANGUAGE="es")
    assert "Inicia sesión para ver el estado de Clinic network" in page.content.decode()


def test_the_sign_in_page_reads_nothing_from_the_database(client, world, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert client.get(LOGIN).status_code == 200


def test_a_member_signs_in_and_is_back_on_the_page(client, nurse):
    answer = sign_in(
        client, f"{LOGIN}?next=/a/clinic-network/history", next="/a/clinic-network/history"
    )
    assert answer.status_code == 302 and answer["Location"] == "/a/clinic-network/history"
    assert PRIVATE_NAME in client.get("/a/clinic-network/").content.decode()


def test_without_next_the_member_lands_on_the_audience_page(client, nurse):
    answer = sign_in(client)
    assert answer.status_code == 302 and answer["Location"] == "/a/clinic-network/"


@pytest.mark.parametrize(
    "target", ["https://evil.example/a/clinic-network/", "//evil.example/", "/\\evil.example"]
)
def test_a_next_off_this_site_is_refused(client, nurse, target):
    answer = sign_in(client, next=target)
    assert answer.status_code == 302 and answer["Location"] == "/a/clinic-network/"


def test_wrong_passwords_count_in_the_shared_limiter(client, nurse, frozen):
    first = sign_in(client, password="wrong")
    assert first.status_code == 200
    assert "correct username and password" in first.content.decode()
    wrong = [sign_in(client, password="wrong").status_code for _ in range(5)]
    assert wrong == [200] * 5
    refused = sign_in(client)
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    text = refused.content.decode()
    assert "Try again in 1 minute." in text and "Staff log in" not in text
    assert "_auth_user_id" not in client.session
    # The same limiter guards the console's login: the nurse's guesses count there too.
    assert (
        client.post(
            "/manage/login/", {"username": "nurse", "password": PASSWORD}, **ATTACKER
        ).status_code
        == 429
    )


def test_the_sign_in_does_not_tell_whether_a_page_exists(client, world):
    real = client.get("/a/clinic-network/")
    missing = client.get("/a/clinic-netwerk/")
    assert real.status_code == missing.status_code == 302
    assert missing["Location"] == "/a/clinic-netwerk/login?next=/a/clinic-netwerk/"

    def page(slug: str) -> str:
        text = client.get(f"/a/{slug}/login?next=/a/{slug}/").content.decode()
        text = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", text)
        return text.replace(slug, "SLUG").replace("Clinic netwerk", "Clinic network")

    assert page("clinic-network") == page("clinic-netwerk")


def test_a_member_who_is_not_staff_reaches_neither_the_console_nor_the_admin(client, nurse):
    assert sign_in(client).status_code == 302
    assert client.get("/manage/").status_code == 403
    admin = client.get("/admin/")
    assert admin.status_code == 302 and admin["Location"].startswith("/admin/login/")
