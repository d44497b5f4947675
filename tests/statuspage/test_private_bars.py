"""Uptime bars on an audience's page count the incidents its reader may see: the public ones
and the audience's private ones, by the one rule (statuspage.models.visible_to). The stored
day rows, which the public page reads, hold public incidents only, so the public page and
another audience's page keep the day clean."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth.models import User
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from incidents.models import IncidentStatus
from statuspage.models import Audience, AudienceMember, Component
from statuspage.picture import monitoring
from statuspage.picture.uptime import rollup
from tests.clock import NOW
from tests.factories import add_update, make_component, make_incident

pytestmark = pytest.mark.django_db

YESTERDAY = "Nov. 26, 2026"
SIGN_IN_FAILING = "Clinic portal sign-in failing"


@pytest.fixture
def clinic():
    """A public component and one private to the clinic network, both quiet for three days;
    a partners' page beside it."""
    with time_machine.travel(NOW - timedelta(days=3), tick=False):
        audience = Audience.objects.create(
            slug="clinic-network", name="Clinic network", push_topic="clinic", private_page=True
        )
        Audience.objects.create(
            slug="partners", name="Partners", push_topic="partners", private_page=True
        )
        make_component("Follow app alerts")
        make_component("Clinic portal", audience_slug=None).private_to.add(audience)
    return audience


def private_incident(
    audience, *components, started=NOW - timedelta(hours=20), name=SIGN_IN_FAILING
):
    """A published incident private to `audience`, resolved two hours after it started,
    that changed no component's status (a day the status log alone would call clean)."""
    incident = make_incident(components[0], now=started)
    for component in components[1:]:
        incident.components.add(component, through_defaults={"status": "major_outage"})
    incident.name = name
    incident.published_at = started
    incident.resolved_at = started + timedelta(hours=2)
    incident.status = IncidentStatus.RESOLVED
    incident.save()
    incident.private_to.add(audience)
    add_update(incident, "opened", now=started, body="Clinic staff cannot sign in.")
    return incident


def component(name: str) -> Component:
    return Component.objects.get(name=name)


def read_as(client, username: str, slug: str):
    user = User.objects.create_user(username, password="a-long-test-password")
    AudienceMember.objects.create(
        audience=Audience.objects.get(slug=slug), user=user, joined_at=NOW
    )
    client.force_login(user)


def get(client, path: str):
    with time_machine.travel(NOW + timedelta(hours=1), tick=False):
        response = client.get(path)
    assert response.status_code == 200, path
    return response.content.decode()


def day_bar(html: str, component: str, day: str = YESTERDAY) -> str:
    """The <li> of `component`'s bar for `day`."""
    strip = re.search(
        rf'<ol class="uptime-bars" aria-label="Daily status of {component} over the last 90 '
        r'days">(.*?)</ol>',
        html,
        re.S,
    )
    assert strip is not None, f"no bars for {component}"
    [bar] = re.findall(rf'<li class="bar[^"]*"[^>]*aria-label="{day} ·[^"]*"></li>', strip[1])
    return bar


def roll_up_the_last_days() -> None:
    rollup((NOW - timedelta(days=2)).date(), NOW.date(), NOW + timedelta(hours=1))


def test_a_private_incident_marks_its_day_on_its_audience_s_bars_and_names_itself(client, clinic):
    private_incident(clinic, component("Clinic portal"))
    roll_up_the_last_days()
    read_as(client, "nurse", "clinic-network")

    bar = day_bar(get(client, "/a/clinic-network/"), "Clinic portal")

    assert 'tabindex="0"' in bar
    assert f"{YESTERDAY} · 100.00% uptime · {SIGN_IN_FAILING}" in bar
    assert SIGN_IN_FAILING in get(client, "/a/clinic-network/history")


def test_the_public_page_and_another_audience_s_page_keep_that_day_clean(client, clinic):
    public = component("Follow app alerts")
    portal = component("Clinic portal")
    private_incident(clinic, portal, public)
    roll_up_the_last_days()

    on_public = get(client, "/")
    assert day_bar(on_public, "Follow app alerts") == (
        f'<li class="bar day-operational" aria-label="{YESTERDAY} · 100.00% uptime"></li>'
    )
    assert SIGN_IN_FAILING not in on_public
    read_as(client, "partner", "partners")
    on_partners = get(client, "/a/partners/")
    assert day_bar(on_partners, "Follow app alerts") == day_bar(on_public, "Follow app alerts")
    assert SIGN_IN_FAILING not in on_partners
    client.logout()
    read_as(client, "nurse", "clinic-network")
    on_clinic = get(client, "/a/clinic-network/")
    for name in ("Follow app alerts", "Clinic portal"):
        assert SIGN_IN_FAILING in day_bar(on_clinic, name), name


def test_an_audience_s_bars_list_public_and_private_incidents_of_a_day_in_the_order_they_began(
    client, clinic
):
    public = component("Follow app alerts")
    private_incident(clinic, public, started=NOW - timedelta(hours=22), name="Clinic pager late")
    outage = make_incident(public, now=NOW - timedelta(hours=21))
    outage.name = "Alerts delayed"
    outage.published_at = outage.started_at
    outage.resolved_at = outage.started_at + timedelta(minutes=30)
    outage.save()
    private_incident(clinic, public)
    roll_up_the_last_days()
    read_as(client, "nurse", "clinic-network")

    bar = day_bar(get(client, "/a/clinic-network/"), "Follow app alerts")

    assert bar.endswith(
        f"{YESTERDAY} · 100.00% uptime · Clinic pager late · Alerts delayed · "
        f'{SIGN_IN_FAILING}"></li>'
    )
    assert 'Alerts delayed"' in day_bar(get(client, "/"), "Follow app alerts")


def test_the_audience_page_s_queries_do_not_grow_with_private_incidents_or_days(
    client, clinic, django_assert_max_num_queries
):
    portal = component("Clinic portal")
    public = component("Follow app alerts")
    read_as(client, "nurse", "clinic-network")

    def queries() -> int:
        """Queries of a cold render (engine alive, nothing cached); the last day listed."""
        monitoring.record_cycle(NOW + timedelta(hours=1))
        monitoring.forget()
        cache.clear()
        with CaptureQueriesContext(connection) as context:
            html = get(client, "/a/clinic-network/")
        assert day_bar(html, "Clinic portal", "Nov. 26, 2026").count(" · ") == 2
        return len(context.captured_queries)

    private_incident(clinic, portal)
    roll_up_the_last_days()
    one = queries()
    for days_ago in range(2, 9):
        private_incident(
            clinic, portal, public, started=NOW - timedelta(days=days_ago), name=f"Late {days_ago}"
        )
    assert queries() == one
    html = get(client, "/a/clinic-network/")
    for name in ("Clinic portal", "Follow app alerts"):
        assert day_bar(html, name, "Nov. 19, 2026").endswith(' · Late 8"></li>')
    with django_assert_max_num_queries(one):
        get(client, "/a/clinic-network/")
