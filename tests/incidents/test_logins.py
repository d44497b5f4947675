"""Every password login shares one limiter, keyed per (username, client) and per client in
the shared cache, with a growing delay instead of a lock; a delayed account still gets in
with a one-time link read from the sandbox inbox."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from tests.clock import NOW

PASSWORD = "a-long-test-password"
ADMIN_LOGIN = "/admin/login/?next=/admin/"
ATTACKER = {"REMOTE_ADDR": "203.0.113.5"}
OWNER = {"REMOTE_ADDR": "198.51.100.7"}


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def guess(client, url, username="sam", times=1, **meta):
    return [
        client.post(url, {"username": username, "password": "wrong"}, **meta).status_code
        for _ in range(times)
    ]


def test_admin_login_refuses_the_right_password_after_thirty_wrong_ones(
    client, support_user, frozen
):
    guess(client, ADMIN_LOGIN, times=30, **ATTACKER)
    answer = client.post(ADMIN_LOGIN, {"username": "sam", "password": PASSWORD}, **ATTACKER)
    assert answer.status_code == 429
    assert int(answer["Retry-After"]) > 0
    assert "_auth_user_id" not in client.session
    assert client.get(reverse("console-dashboard")).status_code == 302  # to the login


def test_console_and_admin_logins_share_one_limiter(client, support_user, frozen):
    assert guess(client, ADMIN_LOGIN, times=5, **ATTACKER) == [200] * 5
    assert guess(client, reverse("console-login"), **ATTACKER) == [200]  # the 6th failure
    refused = client.post(
        reverse("console-login"), {"username": "sam", "password": PASSWORD}, **ATTACKER
    )
    assert refused.status_code == 429
    assert "Try again in 1 minute." in refused.content.decode()


def test_guesses_from_one_client_do_not_lock_the_owner_out(client, support_user, frozen):
    guess(client, reverse("console-login"), times=40, **ATTACKER)
    mine = client.post(reverse("console-login"), {"username": "sam", "password": PASSWORD}, **OWNER)
    assert mine.status_code == 302


def test_the_delay_doubles_with_each_failure_past_the_free_ones(client, support_user, frozen):
    url = reverse("console-login")
    assert guess(client, url, times=6, **ATTACKER) == [200] * 6
    assert (
        client.post(url, {"username": "sam", "password": PASSWORD}, **ATTACKER)["Retry-After"]
        == "30"
    )
    frozen.move_to(NOW + timedelta(seconds=31))
    assert guess(client, url, **ATTACKER) == [200]  # checked again, and wrong again
    assert guess(client, url, **ATTACKER) == [429]
    frozen.move_to(NOW + timedelta(seconds=31 + 61))
    ok = client.post(url, {"username": "sam", "password": PASSWORD}, **ATTACKER)
    assert ok.status_code == 302


def test_one_client_guessing_many_usernames_is_slowed_down(client, support_user, frozen):
    url = reverse("console-login")
    for number in range(20):
        guess(client, url, username=f"user{number}", **ATTACKER)
    assert guess(client, url, username="user20", **ATTACKER) == [200]  # the 21st failure
    assert guess(client, url, username="sam", **ATTACKER) == [429]


def test_behind_a_proxy_each_client_has_its_own_budget(client, support_user, settings, frozen):
    settings.TRUSTED_PROXIES = "1"
    proxy = {"REMOTE_ADDR": "10.0.0.2"}
    url = reverse("console-login")
    guess(client, url, times=30, HTTP_X_FORWARDED_FOR="203.0.113.5", **proxy)
    forged = {"HTTP_X_FORWARDED_FOR": "198.51.100.7, 203.0.113.5", **proxy}
    assert guess(client, url, **forged) == [429]  # a hop the client wrote is not believed
    mine = client.post(
        url,
        {"username": "sam", "password": PASSWORD},
        HTTP_X_FORWARDED_FOR="198.51.100.7",
        **proxy,
    )
    assert mine.status_code == 302


def link_in_inbox(sandbox, address: str) -> str:
    [mail] = sandbox.recorder.list(provider="sendgrid", target=address)
    return re.search(r"http://\S+/manage/login/link/\S+/", mail["payload"]["text"]).group(0)


def test_a_delayed_account_logs_in_once_with_a_link_from_the_sandbox_inbox(
    client, support_user, sandbox, task_queue, settings
):
    support_user.email = "sam@example.org"
    support_user.save()
    url = reverse("console-login")
    guess(client, url, times=10, **ATTACKER)
    assert (
        client.post(url, {"username": "sam", "password": PASSWORD}, **ATTACKER).status_code == 429
    )

    sent = client.post(reverse("console-login-request-link"), {"login": "sam"}, **ATTACKER)
    assert "a one-time sign-in link is on its way" in sent.content.decode()
    task_queue()
    link = link_in_inbox(sandbox, "sam@example.org")
    path = link.split("://", 1)[1].split("/", 1)[1]
    assert client.get(f"/{path}").status_code == 200  # a mail scanner's GET uses nothing
    assert client.post(f"/{path}").status_code == 302
    assert client.get(reverse("console-dashboard")).status_code == 200
    client.logout()
    assert client.post(f"/{path}").status_code == 400  # single use


def test_a_sign_in_link_expires(client, support_user, sandbox, task_queue):
    support_user.email = "sam@example.org"
    support_user.save()
    client.post(reverse("console-login-request-link"), {"login": "sam@example.org"})
    task_queue()  # the ORM broker hands out nothing while the clock stands still
    path = "/" + link_in_inbox(sandbox, "sam@example.org").split("/", 3)[3]
    with time_machine.travel(datetime.now(UTC) + timedelta(minutes=16)):
        expired = client.post(path)
    assert expired.status_code == 400
    assert "has expired or was already used" in expired.content.decode()


def test_a_forged_sign_in_link_is_refused(client, support_user):
    assert client.post(reverse("console-login-link", args=["1:forged:sig"])).status_code == 400


def test_asking_for_a_link_tells_nobody_whether_the_account_exists(
    client, support_user, sandbox, task_queue
):
    answer = client.post(reverse("console-login-request-link"), {"login": "nobody"})
    assert "a one-time sign-in link is on its way" in answer.content.decode()
    task_queue()
    assert sandbox.recorder.list(provider="sendgrid") == []


def test_many_clients_guessing_one_account_are_slowed_down_too(client, support_user, settings):
    settings.LOGIN_THROTTLE = {**settings.LOGIN_THROTTLE, "FREE_PER_USER": 10}
    url = reverse("console-login")
    for n in range(11):
        guess(client, url, REMOTE_ADDR=f"203.0.113.{n + 1}")
    assert guess(client, url, REMOTE_ADDR="203.0.113.99") == [429]
    assert guess(client, url, username="ada", REMOTE_ADDR="203.0.113.99") == [200]
