"""Management API keys are listed, revoked and expire: in the admin, with
`revoke_api_token`, and with `create_api_token --expires-in-days`."""

from datetime import timedelta
from io import StringIO

import pytest
import time_machine
from django.contrib.auth.models import User
from django.core.management import call_command

from incidents.console.api_auth import issue_token
from incidents.models import ApiToken
from tests.clock import NOW

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def get_incidents(client, key):
    return client.get("/api/manage/v1/incidents", HTTP_AUTHORIZATION=f"OAuth {key}")


def test_a_revoked_key_is_refused_at_once(client, support_user):
    key = issue_token(support_user, "deploy bot")
    assert get_incidents(client, key).status_code == 200
    out = StringIO()
    call_command("revoke_api_token", "--name", "deploy bot", stdout=out)
    assert "revoked 1 key(s)" in out.getvalue()
    assert get_incidents(client, key).status_code == 401
    assert ApiToken.objects.get().state(NOW) == "revoked"


def test_a_key_stops_working_when_it_expires(client, support_user, frozen):
    out = StringIO()
    call_command("create_api_token", "sam", "ci", "--expires-in-days", "7", stdout=out)
    key = out.getvalue().strip()
    assert get_incidents(client, key).status_code == 200
    frozen.shift(timedelta(days=7))
    assert get_incidents(client, key).status_code == 401
    assert ApiToken.objects.get().state(NOW + timedelta(days=7)) == "expired"


def test_the_list_shows_state_and_last_use(client, support_user):
    used = issue_token(support_user, "used")
    issue_token(support_user, "idle")
    get_incidents(client, used)
    out = StringIO()
    call_command("revoke_api_token", "--list", stdout=out)
    lines = out.getvalue().splitlines()
    assert any("used" in line and f"last used {NOW.isoformat()}" in line for line in lines)
    assert any("idle" in line and "active" in line and "never" in line for line in lines)


def test_the_admin_lists_keys_with_last_use_and_revokes_them(client, support_user):
    key = issue_token(support_user, "deploy bot")
    get_incidents(client, key)
    root = User.objects.create_superuser("root", password="pw-for-tests-only")
    client.force_login(root)
    page = client.get("/admin/incidents/apitoken/").content.decode()
    assert "deploy bot" in page and "active" in page and "Nov. 27, 2026" in page
    token = ApiToken.objects.get()
    client.post("/admin/incidents/apitoken/", {"action": "revoke", "_selected_action": [token.pk]})
    token.refresh_from_db()
    assert token.revoked_at == NOW
    assert get_incidents(client, key).status_code == 401


def test_a_key_added_in_the_admin_is_shown_once_and_works(client, support_user):
    root = User.objects.create_superuser("root", password="pw-for-tests-only")
    client.force_login(root)
    response = client.post(
        "/admin/incidents/apitoken/add/",
        {"user": support_user.pk, "name": "from admin", "expires_at_0": "", "expires_at_1": ""},
        follow=True,
    )
    text = response.content.decode()
    assert "The key, shown this once: " in text
    key = text.split("The key, shown this once: ")[1].split("<")[0].strip()
    client.logout()
    assert get_incidents(client, key).status_code == 200
