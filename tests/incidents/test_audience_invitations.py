"""Invitations to an audience's private page: staff add one in the admin, the link arrives
by email (the sandbox inbox), works once, expires, and a forged one is refused."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.auth.models import User

from statuspage.models import AudienceInvitation, AudienceMember
from tests.statuspage.private_world import PRIVATE_NAME, private_world

pytestmark = pytest.mark.django_db(transaction=True)


def link_in_inbox(sandbox, address: str) -> str:
    [mail] = sandbox.recorder.list(provider="sendgrid", target=address)
    assert "Clinic network" in mail["payload"]["subject"]
    found = re.search(r"http://\S+/audiences/join/\S+/", mail["payload"]["text"]).group(0)
    return "/" + found.split("/", 3)[3]


@pytest.fixture
def invited(admin_client, sandbox, task_queue):
    """Staff invite a nurse from the admin; the email is sent by a task."""
    world = private_world()
    added = admin_client.post(
        "/admin/statuspage/audienceinvitation/add/",
        {"audience": world.audience.id, "email": "Nurse@Example.org"},
    )
    assert added.status_code == 302
    task_queue()
    admin_client.logout()
    return link_in_inbox(sandbox, "nurse@example.org")


def test_an_invited_reader_joins_once_and_then_reads_the_page(client, invited):
    assert client.get(invited).status_code == 200  # a mail scanner's GET uses nothing
    assert not AudienceMember.objects.exists()
    joined = client.post(
        invited,
        {
            "username": "nurse",
            "password1": "a-long-test-password",
            "password2": "a-long-test-password",
        },
    )
    assert joined.status_code == 302 and joined["Location"] == "/a/clinic-network/"
    assert PRIVATE_NAME in client.get("/a/clinic-network/").content.decode()
    user = User.objects.get(username="nurse")
    assert user.email == "nurse@example.org" and not user.is_staff
    assert AudienceInvitation.objects.get().accepted_by == user

    client.logout()
    again = client.post(
        invited,
        {
            "username": "other",
            "password1": "a-long-test-password",
            "password2": "a-long-test-password",
        },
    )
    assert again.status_code == 400  # one time
    assert "has expired or was already used" in again.content.decode()
    assert not User.objects.filter(username="other").exists()


def test_a_signed_in_user_accepts_with_one_press(client, invited):
    client.force_login(User.objects.create_user("existing", password="a-long-test-password"))
    assert client.post(invited).status_code == 302
    assert AudienceMember.objects.get().user.username == "existing"


def test_an_invitation_expires(client, invited):
    with time_machine.travel(datetime.now(UTC) + timedelta(days=8)):
        assert client.post(invited).status_code == 400
    assert not AudienceMember.objects.exists()


def test_a_forged_invitation_is_refused(client, invited):
    assert client.get(invited[:-3] + "xx/").status_code == 400


def test_one_invitation_claimed_twice_at_once_makes_one_member():
    world = private_world()
    now = datetime.now(UTC)
    invitation = AudienceInvitation.objects.create(
        audience=world.audience,
        email="a@example.org",
        created_at=now,
        expires_at=now + timedelta(days=1),
    )
    stale = AudienceInvitation.objects.get(id=invitation.id)  # another process's copy
    first = User.objects.create_user("first")
    second = User.objects.create_user("second")
    assert invitation.accept(first, now) is True
    assert stale.accept(second, now) is False
    assert list(AudienceMember.objects.values_list("user__username", flat=True)) == ["first"]
