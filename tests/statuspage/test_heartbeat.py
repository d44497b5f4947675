"""Heartbeat probes: pings keep them up, silence past period (or cron) plus grace is the
"no data" alarm, /start opens a run's clock and /fail reports a failure at once."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from incidents.models import Incident
from statuspage.checks.heartbeat import expected_by
from statuspage.models import CheckResult, Probe, ProbeState
from statuspage.probes.engine import run_due_probes
from tests.clock import NOW
from tests.factories import make_component

pytestmark = pytest.mark.django_db


def heartbeat(**fields) -> Probe:
    with time_machine.travel(NOW, tick=False):
        defaults = {"interval_seconds": 300, "grace_seconds": 60}
        return Probe.objects.create(
            component=make_component(),
            name="readings pipeline",
            kind=Probe.Kind.HEARTBEAT,
            **{**defaults, **fields},
        )


@pytest.fixture
def traveller():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def at(traveller, seconds: float) -> None:
    traveller.move_to(NOW + timedelta(seconds=seconds))


def test_ping_url_accepts_get_post_and_head(client, traveller):
    probe = heartbeat()
    assert client.get(f"/ping/{probe.ping_key}").status_code == 200
    assert (
        client.post(f"/ping/{probe.ping_key}", data=b"ok", content_type="text/plain").status_code
        == 200
    )
    assert client.head(f"/ping/{probe.ping_key}").status_code == 200
    probe.refresh_from_db()
    assert probe.last_ping_at == NOW and probe.state == ProbeState.UP


def test_unknown_ping_key_is_a_clear_404(client):
    response = client.get("/ping/6f1c1f4e-9a43-4a43-a1d0-2b4d2f0c9a11")
    assert response.status_code == 404
    assert b"no heartbeat probe has this key" in response.content


def test_an_http_probe_key_does_not_accept_pings(client):
    probe = Probe.objects.create(component=make_component(), name="api", url="http://127.0.0.1:1/")
    assert client.get(f"/ping/{probe.ping_key}").status_code == 404


def test_heartbeat_silence_past_grace_opens_incident(client, traveller):
    probe = heartbeat()
    client.get(f"/ping/{probe.ping_key}")
    at(traveller, 300 + 60)
    run_due_probes()
    assert Incident.objects.count() == 0, "on time up to the end of the grace period"
    at(traveller, 300 + 61)
    run_due_probes()
    probe.refresh_from_db()
    assert probe.state == ProbeState.DOWN
    [incident] = Incident.objects.all()
    assert incident.origin_probe == probe
    error = CheckResult.objects.filter(probe=probe, ok=False).get().error
    assert error == (
        "no ping: last at 2026-11-27 01:00:00 UTC, expected by 2026-11-27 01:05:00 UTC (+60 s grace)"
    )


def test_a_heartbeat_that_never_pinged_fails_after_its_first_period_and_grace(traveller):
    probe = heartbeat()
    at(traveller, 361)
    run_due_probes()
    probe.refresh_from_db()
    assert probe.state == ProbeState.DOWN
    assert "last at never" in CheckResult.objects.get(probe=probe).error


def test_on_time_silence_records_nothing(traveller, client):
    probe = heartbeat()
    client.get(f"/ping/{probe.ping_key}")
    at(traveller, 120)
    run_due_probes()
    assert CheckResult.objects.filter(probe=probe).count() == 1, "only the ping itself"


def test_a_ping_after_silence_recovers_at_once(client, traveller):
    probe = heartbeat()
    client.get(f"/ping/{probe.ping_key}")
    at(traveller, 400)
    run_due_probes()
    client.get(f"/ping/{probe.ping_key}")
    probe.refresh_from_db()
    assert probe.state == ProbeState.UP
    assert Incident.objects.get().status == "monitoring"


def test_fail_ping_confirms_a_failure_at_once_with_the_jobs_words(client, traveller):
    probe = heartbeat()
    client.get(f"/ping/{probe.ping_key}")
    client.post(
        f"/ping/{probe.ping_key}/fail",
        data=b"upload queue stuck\ntrace...",
        content_type="text/plain",
    )
    probe.refresh_from_db()
    assert probe.state == ProbeState.DOWN
    assert Incident.objects.count() == 1
    assert CheckResult.objects.filter(ok=False).get().error == (
        "the job reported failure: upload queue stuck"
    )


def test_a_failed_job_stays_failed_until_it_reports_success(client, traveller):
    probe = heartbeat()
    client.get(f"/ping/{probe.ping_key}/fail")
    at(traveller, 30)
    run_due_probes()
    probe.refresh_from_db()
    assert probe.state == ProbeState.DOWN


def test_a_started_run_that_does_not_finish_within_grace_fails(client, traveller):
    probe = heartbeat()
    client.get(f"/ping/{probe.ping_key}")
    at(traveller, 100)
    client.get(f"/ping/{probe.ping_key}/start")
    at(traveller, 100 + 61)
    run_due_probes()
    probe.refresh_from_db()
    assert probe.state == ProbeState.DOWN
    assert "did not finish within the 60 s grace period" in CheckResult.objects.get(ok=False).error


def test_a_started_run_that_finishes_in_time_is_fine(client, traveller):
    probe = heartbeat()
    client.get(f"/ping/{probe.ping_key}/start")
    at(traveller, 50)
    client.get(f"/ping/{probe.ping_key}")
    at(traveller, 200)
    run_due_probes()
    probe.refresh_from_db()
    assert probe.state == ProbeState.UP


def test_cron_schedule_sets_when_the_next_ping_is_due(client, traveller):
    probe = heartbeat(schedule="0 * * * *", grace_seconds=300)  # hourly, on the hour
    client.get(f"/ping/{probe.ping_key}")
    at(traveller, 3600 + 300)
    run_due_probes()
    probe.refresh_from_db()
    assert probe.state == ProbeState.UP
    at(traveller, 3600 + 301)
    run_due_probes()
    probe.refresh_from_db()
    assert probe.state == ProbeState.DOWN
    assert (
        "expected by 2026-11-27 02:00:00 UTC (+300 s grace)"
        in CheckResult.objects.get(ok=False).error
    )


def test_invalid_cron_schedule_is_refused_with_the_field_named():
    from django.core.exceptions import ValidationError

    probe = Probe(
        component=make_component(), name="x", kind=Probe.Kind.HEARTBEAT, schedule="every hour"
    )
    with pytest.raises(ValidationError) as error:
        probe.full_clean()
    assert "is not a cron expression" in error.value.message_dict["schedule"][0]


def test_a_cron_schedule_is_read_in_the_probes_time_zone(client, traveller):
    # 09:00 every day in New York: 14:00 UTC in November, not 09:00 UTC.
    probe = heartbeat(schedule="0 9 * * *", tz="America/New_York", grace_seconds=300)
    client.get(f"/ping/{probe.ping_key}")
    at(traveller, 13 * 3600 + 300)  # 14:05 UTC, the end of the grace period
    run_due_probes()
    probe.refresh_from_db()
    assert probe.state == ProbeState.UP
    at(traveller, 13 * 3600 + 301)
    run_due_probes()
    probe.refresh_from_db()
    assert probe.state == ProbeState.DOWN
    assert CheckResult.objects.get(ok=False).error == (
        "no ping: last at 2026-11-26 20:00:00 EST, expected by 2026-11-27 09:00:00 EST "
        "(+300 s grace)"
    )


BERLIN = "Europe/Berlin"


def due_after(schedule: str, last_ping: datetime, tz: str = BERLIN) -> datetime:
    probe = Probe(
        kind=Probe.Kind.HEARTBEAT,
        schedule=schedule,
        tz=tz,
        last_ping_at=last_ping,
        created_at=last_ping,
    )
    return expected_by(probe)


# The daylight-saving tests below keep their own absolute dates, not NOW: what they test is
# the night a clock change happens in Berlin, March 29 and October 25 in 2026.


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_a_time_the_spring_change_skips_is_expected_at_the_change():
    # 2026-03-29 in Berlin: 02:00 CET jumps to 03:00 CEST; cron runs a 02:30 job at 03:00.
    assert due_after("30 2 * * *", utc(2026, 3, 28, 1, 30)) == utc(2026, 3, 29, 1, 0)
    assert due_after("30 2 * * *", utc(2026, 3, 29, 1, 0)) == utc(2026, 3, 30, 0, 30)


def test_a_wall_clock_time_the_autumn_change_repeats_is_expected_once():
    # 2026-10-25 in Berlin: 03:00 CEST goes back to 02:00 CET, so 02:30 happens twice;
    # cron runs a daily 02:30 job once, and the next ping is due the next day.
    pinged = utc(2026, 10, 25, 0, 30, 20)  # 02:30:20 CEST
    assert due_after("30 2 * * *", pinged) == utc(2026, 10, 26, 1, 30)
    assert due_after("0 * * * *", utc(2026, 10, 24, 23, 0)) == utc(2026, 10, 25, 0, 0)


def test_a_daily_job_is_not_awaited_again_in_the_repeated_hour(client):
    with time_machine.travel(utc(2026, 10, 24, 0, 30), tick=False) as traveller:
        probe = heartbeat(schedule="30 2 * * *", tz=BERLIN, grace_seconds=600)
        traveller.move_to(utc(2026, 10, 25, 0, 30, 20))  # 02:30:20 CEST, on time
        client.get(f"/ping/{probe.ping_key}")
        traveller.move_to(utc(2026, 10, 25, 1, 41))  # 02:41 CET: 02:30 again, plus grace
        run_due_probes()
        probe.refresh_from_db()
        assert probe.state == ProbeState.UP and not CheckResult.objects.filter(ok=False).exists()


def test_an_unknown_time_zone_is_refused_with_a_suggestion():
    from django.core.exceptions import ValidationError

    probe = Probe(
        component=make_component(),
        name="x",
        kind=Probe.Kind.HEARTBEAT,
        schedule="0 9 * * *",
        tz="Europe/Berln",
    )
    with pytest.raises(ValidationError) as error:
        probe.full_clean()
    assert error.value.message_dict["tz"] == [
        "'Europe/Berln' is not an IANA time zone name (such as 'UTC' or 'Europe/Berlin'). "
        "Did you mean 'Europe/Berlin'?"
    ]


def test_the_admin_edits_the_time_zone_and_names_a_wrong_one(admin_client):
    probe = heartbeat(schedule="0 9 * * *")
    url = f"/admin/statuspage/probe/{probe.id}/change/"
    form = admin_client.get(url).context["adminform"].form
    assert form["tz"].value() == "UTC"
    data = {
        name: field.value()
        for name, field in ((n, form[n]) for n in form.fields)
        if field.value() is not None
    }
    data.update(headers="{}", regions="[]", tz="Mars/Olympus")
    response = admin_client.post(url, data)
    assert "is not an IANA time zone name" in response.content.decode()
    data["tz"] = "Europe/Berlin"
    assert admin_client.post(url, data).status_code == 302
    probe.refresh_from_db()
    assert probe.tz == "Europe/Berlin"
