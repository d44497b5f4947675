"""Message template overrides through the management API, checked when written as the
admin checks them: the file exists, the sandbox compiles it, it fits its budget."""

from __future__ import annotations

import pytest

from incidents.models import MessageTemplate
from tests.factories import make_component
from tests.incidents.api_calls import caller

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_api(client, admin_role_user):
    make_component()
    return caller(client, admin_role_user)


def override(**fields):
    return {"template": {"channel": "sms", "kind": "opened", "part": "body", **fields}}


def test_an_override_that_fits_is_saved_and_read_back(admin_api, django_assert_max_num_queries):
    created = admin_api("post", "templates", override(body="{{ incident.name }}: we are on it."))
    assert created.status_code == 201, created.json()
    item = created.json()
    assert item["locale"] == "en" and item["cuts"] == []
    assert admin_api("get", f"templates/{item['id']}").json()["body"].endswith("on it.")
    changed = admin_api("patch", f"templates/{item['id']}", {"template": {"locale": "es"}})
    assert changed.status_code == 200 and changed.json()["locale"] == "es"
    MessageTemplate.objects.create(channel="sms", kind="update", part="body", body="Still on it.")
    with django_assert_max_num_queries(6):
        assert len(admin_api("get", "templates").json()["templates"]) == 2
    assert admin_api("delete", f"templates/{item['id']}").status_code == 204
    assert not MessageTemplate.objects.filter(id=item["id"]).exists()


def test_the_admins_checks_refuse_what_they_refuse(admin_api):
    missing = admin_api("post", "templates", override(kind="postmortem", part="subject", body="x"))
    assert missing.status_code == 400
    assert "There is no messages/sms/postmortem_subject.txt" in missing.json()["fields"]["template"]
    sandboxed = admin_api("post", "templates", override(body="{% debug %}"))
    assert "not allowed" in sandboxed.json()["fields"]["body"]
    unsafe = admin_api("post", "templates", override(body='{% include "../settings.py" %}'))
    assert unsafe.status_code == 400 and "Template error" in unsafe.json()["fields"]["body"]
    too_long = admin_api("post", "templates", override(body="x" * 2000))
    assert too_long.status_code == 400 and "body" in too_long.json()["fields"]
    bad = admin_api(
        "post", "templates", {"template": {"channel": "../sms", "kind": "x", "locale": "fr"}}
    )
    assert set(bad.json()["fields"]) == {"channel", "kind", "locale", "body"}
    assert not MessageTemplate.objects.exists()


def test_one_override_per_template_and_language(admin_api):
    assert admin_api("post", "templates", override(body="We are on it.")).status_code == 201
    again = admin_api("post", "templates", override(body="Again."))
    assert again.status_code == 400 and "exists" in again.json()["fields"]["locale"]


def test_support_staff_may_not_override_templates(client, support_user):
    api = caller(client, support_user)
    assert api("get", "templates").status_code == 403
    assert api("post", "templates", override(body="Hi.")).status_code == 403
