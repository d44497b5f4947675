"""The engine's housekeeping list holds the public side's jobs, and they run with `now`."""

from __future__ import annotations

import pytest
from django.conf import settings

from statuspage.models import ComponentDay
from statuspage.probes.engine import housekeeping
from tests.clock import NOW
from tests.factories import make_component

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
