"""Members of an audience page sign in by a one-time link emailed from the page's own
sign-in ("Email me a sign-in link"): the link arrives through the sandbox inbox, a GET only
shows a button, a POST signs in once and lands on the page; it expires, works once and only
for its own page; the answer to asking never tells who reads a page nor whether it exists."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.auth.models import User

from statuspage.models import AudienceMember, MemberSignInLink
from statuspage.public.member_link import forget_old_links
from tests.clock import NOW
from tests.statuspage.private_world import PRIVATE_NAME, member

pytestmark = pytest.mark.django_db(transaction=True)

ASK = "/a/clinic-network/login/link"
CLIENT = {"REMOTE_ADDR": "203.0.113.5"}


@pytest.fixture
def nurse(world):
    """Invited, joined, and never chose a password."""
    return member(world, "nurse", email="nurse@example.org")


def ask(client, email="Nurse@Example.org", url=ASK, **meta):
    return client.post(url, {"email": email}, **{**CLIENT, **meta})


def sent_to(sandbox, address: str) -> list[dict]:
    return sandbox.recorder.list(provider="sendgrid", target=address)


def link_in_inbox(sandbox, address: str = "nurse@example.org") -> str:
    [mail] = sent_to(sandbox, address)
    assert "Clinic network" in mail["payload"]["subject"]
    found = re.search(r"http://\S+/a/\S+/login/link/\S+", mail["payload"]["text"]).group(0)
    return "/" + found.split("/", 3)[3]


def test_the_sign_in_page_offers_to_email_a_sign_in_link(client, world):
    text = client.get("/a/clinic-network/login").content.decode()
    assert f'action="{ASK}"' in text
    assert "Email me a sign-in link" in text
    assert "Ask whoever invited you" in text and "forgot your password? Ask" not in text


def test_a_member_who_never_set_a_password_signs_in_by_email_link(
    client, nurse, sandbox, task_queue
):
    answer = ask(client)
    assert answer.status_code == 200
    assert "a sign-in link is on its way" in answer.content.decode()
    task_queue()
    link = link_in_inbox(sandbox)
    assert link.startswith("/a/clinic-network/login/link/")

    opened = client.get(link)  # a mail scanner's GET spends nothing and signs nobody in
    assert opened.status_code == 200 and "Sign in now" in opened.content.decode()
    assert "_auth_user_id" not in client.session
    assert MemberSignInLink.objects.get().used_at is None

    signed_in = client.post(link)
    assert signed_in.status_code == 302 and signed_in["Location"] == "/a/clinic-network/"
    assert PRIVATE_NAME in client.get("/a/clinic-network/").content.decode()
    assert MemberSignInLink.objects.get().used_at is not None


def test_staff_get_a_link_to_any_page_too(client, world, sandbox, task_queue):
    User.objects.create_user("sam", email="sam@example.org", is_staff=True)
    ask(client, "sam@example.org")
    task_queue()
    assert client.post(link_in_inbox(sandbox, "sam@example.org")).status_code == 302
    assert PRIVATE_NAME in client.get("/a/clinic-network/").content.decode()


def test_the_link_email_is_in_the_language_the_page_was_read_in(client, nurse, sandbox, task_queue):
    ask(client, HTTP_ACCEPT_LANGUAGE="es")
    task_queue()
    [mail] = sent_to(sandbox, "nurse@example.org")
    assert "Tu enlace de acceso" in mail["payload"]["subject"]
    assert "Inicia sesión aquí:" in mail["payload"]["text"]


def without_csrf(text: str) -> str:
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", text)


def test_a_stranger_a_member_of_another_page_and_a_missing_page_get_the_same_answer_and_no_email(
    client, nurse, sandbox, task_queue
):
    User.objects.create_user("outsider", email="outsider@example.org")
    member = without_csrf(ask(client).content.decode())
    stranger = without_csrf(ask(client, "outsider@example.org").content.decode())
    nobody = without_csrf(ask(client, "nobody@example.org").content.decode())
    missing = ask(client, url="/a/clinic-netwerk/login/link")
    assert missing.status_code == 200
    assert stranger == nobody == member
    assert (
        without_csrf(missing.content.decode())
        .replace("clinic-netwerk", "clinic-network")
        .replace("Clinic netwerk", "Clinic network")
        == member
    )
    task_queue()
    assert sent_to(sandbox, "outsider@example.org") == []
    assert [m["target"] for m in sandbox.recorder.list(provider="sendgrid")] == [
        "nurse@example.org"
    ]
    assert MemberSignInLink.objects.count() == 1


def test_asking_reads_no_audience_nor_user(
    client, world, task_queue, django_assert_max_num_queries
):
    # The limiter's count and its recorded attempt, and the queued task: nothing else.
    with django_assert_max_num_queries(6) as queries:
        assert ask(client).status_code == 200
    tables = " ".join(q["sql"] for q in queries.captured_queries)
    assert "statuspage_audience" not in tables and "auth_user" not in tables


def test_an_address_that_is_not_one_is_refused_naming_the_field(client, world, task_queue):
    answer = ask(client, "not-an-address")
    assert answer.status_code == 400
    assert "Enter a valid email address." in answer.content.decode()
    assert 'id="id_email"' in answer.content.decode()


def test_a_used_link_is_refused_saying_it_was_used(client, nurse, sandbox, task_queue):
    ask(client)
    task_queue()
    link = link_in_inbox(sandbox)
    assert client.post(link).status_code == 302
    client.logout()
    again = client.post(link)
    assert again.status_code == 400
    assert "already used" in again.content.decode()
    assert "_auth_user_id" not in client.session


def test_an_expired_link_is_refused_saying_it_expired(client, nurse, sandbox, task_queue, settings):
    settings.LOGIN_THROTTLE = {**settings.LOGIN_THROTTLE, "MEMBER_LINK_MAX_AGE_SECONDS": 600}
    ask(client)
    task_queue()  # the ORM broker hands out nothing while the clock stands still
    link = link_in_inbox(sandbox)
    with time_machine.travel(datetime.now(UTC) + timedelta(minutes=9)):
        assert client.get(link).status_code == 200
    with time_machine.travel(datetime.now(UTC) + timedelta(minutes=11)):
        expired = client.post(link)
    assert expired.status_code == 400
    assert "has expired" in expired.content.decode()
    assert "_auth_user_id" not in client.session


def test_a_link_long_expired_is_forgotten_while_a_recent_one_is_kept(
    client, nurse, sandbox, task_queue
):
    ask(client)
    task_queue()
    made = MemberSignInLink.objects.get()
    assert forget_old_links(made.expires_at + timedelta(days=6)) == 0
    assert forget_old_links(made.expires_at + timedelta(days=7, minutes=1)) == 1
    assert not MemberSignInLink.objects.exists()


def test_the_link_lives_fifteen_minutes_by_default(client, nurse, sandbox, task_queue):
    ask(client)
    task_queue()
    assert "within 15 minutes" in sent_to(sandbox, "nurse@example.org")[0]["payload"]["text"]
    made = MemberSignInLink.objects.get()
    assert made.expires_at - made.created_at == timedelta(minutes=15)


@pytest.mark.parametrize("change", ["signature", "page"])
def test_a_tampered_link_or_one_for_another_page_is_refused_saying_it_is_not_valid(
    client, nurse, sandbox, task_queue, change
):
    ask(client)
    task_queue()
    link = link_in_inbox(sandbox)
    if change == "signature":
        link = link[:-3] + ("xyz" if not link.endswith("xyz") else "abc")
    else:
        link = link.replace("/a/clinic-network/", "/a/other-page/")
    refused = client.post(link)
    assert refused.status_code == 400
    assert "not valid" in refused.content.decode()
    assert "_auth_user_id" not in client.session
    assert MemberSignInLink.objects.get().used_at is None


def test_a_reader_removed_from_the_page_cannot_use_a_link_sent_before(
    client, nurse, sandbox, task_queue
):
    ask(client)
    task_queue()
    AudienceMember.objects.filter(user=nurse).delete()
    refused = client.post(link_in_inbox(sandbox))
    assert refused.status_code == 400 and "_auth_user_id" not in client.session


def test_asking_is_rate_limited_per_address(client, nurse, task_queue):
    with time_machine.travel(NOW, tick=False):
        answers = [ask(client, REMOTE_ADDR=f"198.51.100.{n}").status_code for n in range(4)]
    assert answers == [200, 200, 200, 429]


def test_asking_is_rate_limited_per_client_with_a_retry_after(client, world, task_queue):
    with time_machine.travel(NOW, tick=False):
        answers = [ask(client, f"reader{n}@example.org").status_code for n in range(10)]
        refused = ask(client, "one-more@example.org")
        elsewhere = ask(client, "one-more@example.org", REMOTE_ADDR="198.51.100.9")
    assert answers == [200] * 10
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert "Too many sign-in links asked for. Try again in 60 minutes." in refused.content.decode()
    assert elsewhere.status_code == 200


def test_the_link_pages_are_in_spanish_too(client, nurse, sandbox, task_queue):
    sent = ask(client, HTTP_ACCEPT_LANGUAGE="es")
    assert "le estamos enviando un enlace de acceso" in sent.content.decode()
    task_queue()
    link = link_in_inbox(sandbox)
    opened = client.get(link, HTTP_ACCEPT_LANGUAGE="es")
    assert "Iniciar sesión ahora" in opened.content.decode()
    refused = client.get(link[:-3] + "abc", HTTP_ACCEPT_LANGUAGE="es")
    assert "no es válido" in refused.content.decode()
