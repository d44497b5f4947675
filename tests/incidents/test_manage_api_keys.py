"""API keys through the management API: listed without secrets, shown once, revoked, expiring."""

from __future__ import annotations

from datetime import timedelta

import pytest

from incidents.models import ApiToken
from tests.clock import NOW
from tests.incidents.api_calls import caller

pytestmark = pytest.mark.django_db


def test_an_admin_creates_a_key_that_is_shown_once_and_works(
    client, admin_role_user, django_assert_max_num_queries
):
    api = caller(client, admin_role_user)
    expires = (NOW + timedelta(days=30)).isoformat()
    created = api("post", "api-keys", {"api_key": {"name": "deploy bot", "expires_at": expires}})
    assert created.status_code == 201, created.json()
    key = created.json()["key"]
    assert created.json()["state"] == "active" and created.json()["user"] == "ada"
    with django_assert_max_num_queries(6):
        listed = api("get", "api-keys").json()["api_keys"]
    assert {k["name"] for k in listed} == {"ada's key", "deploy bot"}
    assert all("key" not in k and "key_hash" not in k for k in listed)
    works = client.get("/api/manage/v1/components", HTTP_AUTHORIZATION=f"Bearer {key}")
    assert works.status_code == 200


def test_a_revoked_key_is_refused_and_stays_listed(client, admin_role_user):
    api = caller(client, admin_role_user)
    created = api("post", "api-keys", {"api_key": {"name": "old"}}).json()
    revoked = api("post", f"api-keys/{created['id']}/revoke")
    assert revoked.status_code == 200 and revoked.json()["state"] == "revoked"
    refused = client.get("/api/manage/v1/components", HTTP_AUTHORIZATION=f"Bearer {created['key']}")
    assert refused.status_code == 401
    assert api("get", f"api-keys/{created['id']}").json()["revoked_at"]


def test_bad_input_is_400_and_support_staff_may_not_manage_keys(
    client, admin_role_user, support_user
):
    api = caller(client, admin_role_user)
    bad = api("post", "api-keys", {"api_key": {"name": "", "expires_at": "2001-01-01T00:00:00Z"}})
    assert bad.status_code == 400 and set(bad.json()["fields"]) == {"name", "expires_at"}
    assert api("get", "api-keys/999999").status_code == 404
    assert api("get", "api-keys/nope").status_code == 404
    assert api("delete", "api-keys/1").status_code == 405
    support = caller(client, support_user)
    assert support("get", "api-keys").status_code == 403
    assert support("post", "api-keys", {"api_key": {"name": "mine"}}).status_code == 403
    assert support("post", "api-keys/1/revoke").status_code == 403
    assert ApiToken.objects.count() == 2


def test_the_key_making_the_request_cannot_revoke_itself(client, admin_role_user):
    api = caller(client, admin_role_user)
    own = ApiToken.objects.get()
    refused = api("post", f"api-keys/{own.id}/revoke")
    assert refused.status_code == 400 and "another key" in refused.json()["fields"]["id"]
    assert api("get", "api-keys").status_code == 200
