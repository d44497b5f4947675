"""The engine's housekeeping list holds the public side's jobs, and they run with `now`."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.utils import translation

from incidents.response import workflow
from statuspage.models import ComponentDay, Verdict
from statuspage.probes.engine import housekeeping
from statuspage.public.snapshot import site_client
from tests.clock import NOW
from tests.factories import make_component, make_probe

pytestmark = pytest.mark.django_db


def test_uptime_and_snapshot_jobs_are_registered():
    jobs = settings.ENGINE["HOUSEKEEPING"]
    assert "statuspage.picture.uptime.refresh_uptime" in jobs
    assert "statuspage.public.snapshot.publish_if_due" in jobs


def test_one_engine_housekeeping_pass_rolls_up_today(settings, monkeypatch):
    from statuspage.picture import uptime

    monkeypatch.setattr(uptime.refresh_uptime, "last_run", None)
    settings.STATUS_SNAPSHOT_DIR = ""
    component = make_component()
    component.set_status("partial_outage")
    housekeeping(NOW.replace(year=2030))
    assert ComponentDay.objects.filter(component=component).exists()


SPOKEN: list[str] = []


def read_the_page_in_spanish(now) -> None:
    client, secure = site_client()
    client.get("/", HTTP_ACCEPT_LANGUAGE="es", secure=secure)


def note_the_language(now) -> None:
    SPOKEN.append(translation.get_language())


def test_a_job_that_reads_a_spanish_page_leaves_the_next_job_and_the_engine_in_english():
    make_component()
    SPOKEN.clear()
    here = "tests.statuspage.test_housekeeping."
    housekeeping(NOW, jobs=[here + "read_the_page_in_spanish", here + "note_the_language"])
    assert SPOKEN == ["en"]
    assert translation.get_language() == "en"


def test_an_incident_the_engine_opens_after_the_prewarm_is_named_in_the_site_language(
    settings,
):
    settings.ANSWERS = {**settings.ANSWERS, "ENABLED": True}
    probe = make_probe(make_component("Follow app alerts"), "http://127.0.0.1:1/health")
    housekeeping(NOW, jobs=["statuspage.public.prewarm.refresh"])
    incident = workflow.handle_verdict(probe, Verdict.CONFIRMED_DOWN, NOW)
    assert incident.name == "Follow app alerts is not working as expected"
