"""An audience's private page: the public picture plus what is private to the audience, for
its members (Django login), staff, and holders of its signed embed URL; its own v2 JSON,
banner, feeds and subscribers; never stored nor cached for anyone else."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client

from notifiers.subscribers import Subscriber
from statuspage.models import Audience, AudienceMember
from statuspage.public.api import V2_BODIES
from statuspage.public.private import embed_path
from tests.clock import NOW
from tests.statuspage.private_world import PRIVATE_INCIDENT, PRIVATE_NAME, private_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    return private_world()


@pytest.fixture
def member(client, world):
    user = User.objects.create_user("nurse", password="a-long-test-password")
    AudienceMember.objects.create(audience=world.audience, user=user, joined_at=NOW)
    client.force_login(user)
    return user


def test_a_member_sees_the_public_picture_plus_the_audience_s_own(client, member, world):
    page = client.get("/a/clinic-network/")
    assert page.status_code == 200
    text = page.content.decode()
    assert PRIVATE_NAME in text and PRIVATE_INCIDENT in text and "Follow app alerts" in text
    summary = client.get("/a/clinic-network/api/v2/summary.json").json()
    assert summary["status"]["indicator"] == "critical"
    assert [i["name"] for i in summary["incidents"]] == [PRIVATE_INCIDENT]
    names = {c["name"] for c in summary["components"]}
    assert {PRIVATE_NAME, "Follow app alerts"} <= names


def test_every_v2_endpoint_banner_and_feed_has_its_audience_twin(client, member, world):
    for name in V2_BODIES:
        response = client.get(f"/a/clinic-network/api/v2/{name}.json")
        assert response.status_code == 200, name
        assert response["Cache-Control"] == "private, no-store", name
    assert (
        PRIVATE_INCIDENT in client.get("/a/clinic-network/api/v2/incidents.json").content.decode()
    )
    banner = client.get("/a/clinic-network/api/v1/banner.json?audience=clinic-network").json()
    assert banner["show"] is True and banner["incident_id"] == world.private_incident.public_id
    for feed in [
        "history.rss",
        "history.atom",
        f"components/{world.private_component.public_id}/history.rss",
    ]:
        response = client.get(f"/a/clinic-network/{feed}")
        assert response.status_code == 200, feed
        assert PRIVATE_INCIDENT in response.content.decode(), feed
    permalink = client.get(f"/a/clinic-network/incidents/{world.private_incident.public_id}")
    assert permalink.status_code == 200
    assert (
        client.get(f"/a/clinic-network/badges/{world.private_component.public_id}.svg").status_code
        == 200
    )


def test_links_on_the_private_page_stay_on_it(client, member, world):
    text = client.get("/a/clinic-network/").content.decode()
    assert f'href="/a/clinic-network/incidents/{world.private_incident.public_id}"' in text
    assert 'href="/a/clinic-network/history"' in text
    assert 'href="/history"' not in text


def test_every_link_a_private_answer_gives_leads_back_to_its_page(client, member, world):
    page = f"{settings.STATUSPAGE['URL']}/a/clinic-network"
    permalink = f"{page}/incidents/{world.private_incident.public_id}"
    incidents = client.get("/a/clinic-network/api/v2/incidents.json").json()
    assert incidents["page"]["url"] == page
    assert [i["shortlink"] for i in incidents["incidents"]] == [permalink]
    banner = client.get("/a/clinic-network/api/v1/banner.json?audience=clinic-network").json()
    assert banner["link"] == permalink
    feed = client.get("/a/clinic-network/history.atom").content.decode()
    assert f'href="{permalink}"' in feed and f'href="{page}/"' in feed
    assert client.get(permalink.removeprefix(settings.STATUSPAGE["URL"])).status_code == 200


def test_links_in_an_embedded_page_s_answers_keep_its_embed_path(client, world):
    world.audience.embed_enabled = True
    world.audience.save()
    path = embed_path(world.audience)
    incidents = client.get(f"{path}api/v2/incidents.json").json()
    [shortlink] = [i["shortlink"] for i in incidents["incidents"]]
    assert shortlink == (
        f"{settings.STATUSPAGE['URL']}{path}incidents/{world.private_incident.public_id}"
    )
    assert client.get(shortlink.removeprefix(settings.STATUSPAGE["URL"])).status_code == 200


def test_a_member_sees_whose_page_it_is_and_signs_out_from_it(member, world):
    reader = Client(enforce_csrf_checks=True)
    reader.force_login(member)
    text = reader.get("/a/clinic-network/").content.decode()
    assert "Clinic network: private status page" in text and "Signed in as nurse" in text
    form = re.search(r'<form method="post" action="([^"]+)">.*?value="([^"]+)"', text, re.S)
    assert form and form[1] == "/a/clinic-network/logout"
    assert reader.get(form[1]).status_code == 405
    out = reader.post(form[1], {"csrfmiddlewaretoken": form[2]})
    assert out.status_code == 302 and out["Location"] == "/a/clinic-network/login"
    assert reader.get("/a/clinic-network/")["Location"].startswith("/a/clinic-network/login")


def test_the_audience_bar_speaks_the_reader_s_language(client, member, world):
    text = client.get("/a/clinic-network/", HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert "Clinic network: página de estado privada" in text
    assert "Sesión iniciada como nurse" in text and "Cerrar sesión" in text


def test_an_embedded_page_names_its_audience_but_offers_no_sign_out(client, world):
    world.audience.embed_enabled = True
    world.audience.save()
    text = client.get(embed_path(world.audience)).content.decode()
    assert "Clinic network: private status page" in text
    assert "Sign out" not in text and "logout" not in text


def test_the_public_page_shows_no_audience_bar_even_to_a_signed_in_member(client, member, world):
    text = client.get("/").content.decode()
    assert "private status page" not in text and "Sign out" not in text


def test_a_signed_out_reader_is_sent_to_log_in_whether_or_not_the_page_exists(client, world):
    real = client.get("/a/clinic-network/")
    missing = client.get("/a/no-such-audience/")
    assert real.status_code == missing.status_code == 302
    assert real["Location"] == "/a/clinic-network/login?next=/a/clinic-network/"
    assert missing["Location"] == "/a/no-such-audience/login?next=/a/no-such-audience/"
    assert real["Cache-Control"] == "private, no-store"


def test_a_signed_in_outsider_gets_the_same_404_as_for_no_page(client, world):
    client.force_login(User.objects.create_user("outsider", password="a-long-test-password"))
    assert client.get("/a/clinic-network/").status_code == 404
    assert client.get("/a/clinic-network/api/v2/summary.json").status_code == 404
    assert client.get("/a/no-such-audience/").status_code == 404


def test_an_audience_without_a_private_page_has_none(client, admin_client, world):
    assert admin_client.get("/a/follow-app/").status_code == 404


def test_staff_read_every_private_page(admin_client, world):
    assert PRIVATE_NAME in admin_client.get("/a/clinic-network/").content.decode()


def test_a_member_of_another_audience_sees_nothing_of_this_one(client, world):
    other = Audience.objects.create(
        slug="partners", name="Partners", push_topic="p", private_page=True
    )
    user = User.objects.create_user("partner", password="a-long-test-password")
    AudienceMember.objects.create(audience=other, user=user, joined_at=NOW)
    client.force_login(user)
    page = client.get("/a/partners/")
    assert page.status_code == 200
    assert PRIVATE_NAME not in page.content.decode()
    assert client.get("/a/clinic-network/").status_code == 404


def test_the_signed_embed_url_opens_the_page_without_login(client, world):
    world.audience.embed_enabled = True
    world.audience.save()
    path = embed_path(world.audience)
    page = client.get(path)
    assert page.status_code == 200 and PRIVATE_NAME in page.content.decode()
    assert page["Cache-Control"] == "private, no-store"
    assert "frame-ancestors *" in page["Content-Security-Policy"]
    assert "X-Frame-Options" not in page
    banner = client.get(f"{path}api/v1/banner.json?audience=clinic-network").json()
    assert banner["incident_id"] == world.private_incident.public_id


def test_the_embed_url_stays_the_same_until_its_key_is_rotated(world):
    with time_machine.travel(NOW, tick=False):
        first = embed_path(world.audience)
    with time_machine.travel(NOW + timedelta(days=30), tick=False):
        assert embed_path(world.audience) == first
    world.audience.rotate_embed_key()
    assert embed_path(world.audience) != first


def test_a_tampered_rotated_or_revoked_embed_url_is_refused(client, world):
    world.audience.embed_enabled = True
    world.audience.save()
    path = embed_path(world.audience)
    token = path.split("/")[4]
    assert client.get(path.replace(token, token[:-2] + "xx")).status_code == 404
    other = Audience.objects.create(
        slug="partners", name="Partners", push_topic="p", private_page=True, embed_enabled=True
    )
    assert client.get(f"/a/partners/embed/{token}/").status_code == 404  # another audience's
    world.audience.rotate_embed_key()
    assert client.get(path).status_code == 404
    assert client.get(embed_path(world.audience)).status_code == 200
    world.audience.embed_enabled = False
    world.audience.save()
    assert client.get(embed_path(world.audience)).status_code == 404
    assert other


def test_subscribing_on_the_private_page_binds_the_subscriber_to_it(client, member, world):
    form = client.get("/a/clinic-network/subscribe/")
    assert PRIVATE_NAME in form.content.decode()
    client.post(
        "/a/clinic-network/subscribe/",
        {"channel": "email", "email": "nurse@example.org", "language": "en"},
    )

    assert Subscriber.objects.get(address="nurse@example.org").audience == world.audience


def test_the_private_page_reads_a_fixed_number_of_queries(
    client, member, world, django_assert_max_num_queries
):
    client.get("/a/clinic-network/")  # warm the per-process caches (monitoring, charts)
    with django_assert_max_num_queries(16):
        assert client.get("/a/clinic-network/").status_code == 200
    with django_assert_max_num_queries(12):
        assert client.get("/a/clinic-network/api/v2/summary.json").status_code == 200


def test_staff_see_the_embed_url_and_rotate_its_key_in_the_admin(admin_client, world):
    world.audience.embed_enabled = True
    world.audience.save()
    change = admin_client.get(f"/admin/statuspage/audience/{world.audience.id}/change/")
    assert embed_path(world.audience) in change.content.decode()
    admin_client.post(
        "/admin/statuspage/audience/",
        {"action": "rotate_embed_keys", "_selected_action": [world.audience.id]},
    )
    world.audience.refresh_from_db()
    assert world.audience.embed_key_version == 2


def test_staff_mark_a_component_private_in_the_admin(admin_client, client, world):
    form = admin_client.get(f"/admin/statuspage/component/{world.public_component.id}/change/")
    assert 'name="private_to"' in form.content.decode()
