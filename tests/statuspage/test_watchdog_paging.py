"""When monitoring stops, on-call staff are paged through the notifiers outbox (SMS and email
by default), once per interruption; when the engine cycles again they are told it is back."""

from datetime import datetime, timedelta

import pytest
import time_machine
from django.core.management import call_command

from incidents.console.api_auth import issue_token
from incidents.messages import render_message
from incidents.models import Incident, IncidentStatus, OnCallContact
from incidents.response import clock
from notifiers.channels.context import message_context
from notifiers.models import Announcement, Recipients
from notifiers.registry import registered
from statuspage.picture import monitoring
from tests.clock import NOW
from tests.factories import make_component, make_probe, user_in
from tests.incidents.oncall_factories import person, weekly_schedule

SILENT = NOW + timedelta(seconds=25)  # two 10 s heartbeats missed

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def on_call(settings):
    settings.ENGINE = {**settings.ENGINE, "HEARTBEAT_SECONDS": 10}
    settings.STATUSPAGE = {
        **settings.STATUSPAGE,
        "URL": "http://127.0.0.1:9",
        "NAME": "Acme Status",
    }
    settings.TWILIO = {**settings.TWILIO, "SMS_PER_SECOND": 1000.0}
    OnCallContact.objects.create(name="Ada", phone="+14155550199", email="ada@example.org")
    make_probe(make_component(), "http://127.0.0.1:1/health")
    monitoring.record_cycle(NOW)


def watchdog() -> int:
    with pytest.raises(SystemExit) as exit_:
        call_command("watchdog")
    return exit_.value.code


def received(sandbox) -> dict[str, list[str]]:
    """What each phone and inbox got: SMS bodies and email subjects + text."""
    got: dict[str, list[str]] = {}
    for record in sandbox.recorder.list(provider="twilio"):
        got.setdefault(record["target"], []).append(record["payload"]["Body"])
    for record in sandbox.recorder.list(provider="sendgrid"):
        payload = record["payload"]
        got.setdefault(record["target"], []).append(f"{payload['subject']}\n{payload['text']}")
    return got


def deliver(task_queue, at: datetime) -> None:
    """Run what the outbox queued, on a running clock (the ORM broker hands out a task only
    once the clock has moved past its enqueueing)."""
    with time_machine.travel(at, tick=True):
        task_queue()


def test_the_watchdog_pages_oncall_by_sms_and_email_once_per_interruption(sandbox, task_queue):
    with time_machine.travel(SILENT, tick=False):
        assert watchdog() == 2
        deliver(task_queue, SILENT)
        assert watchdog() == 2
        deliver(task_queue, SILENT)
    assert Announcement.objects.filter(recipients=Recipients.ONCALL).count() == 2
    inbox = received(sandbox)
    [text] = inbox["+14155550199"]
    assert text.startswith(
        "Acme Status: Monitoring interrupted: no probe cycle has completed "
        "since 2026-11-27 01:00 UTC"
    )
    assert text.endswith(" http://127.0.0.1:9/manage/")
    [mail] = inbox["ada@example.org"]
    assert mail.startswith("Monitoring interrupted since 01:00 UTC: status unknown\n")
    assert 'say "status unknown". Restart the engine (manage.py engine)' in mail
    assert "Staff console: http://127.0.0.1:9/manage/" in mail


def test_monitoring_restored_is_sent_once_when_the_engine_cycles_again(sandbox, task_queue):
    back = SILENT + timedelta(minutes=5)
    with time_machine.travel(SILENT, tick=False) as traveller:
        watchdog()
        deliver(task_queue, SILENT)
        traveller.move_to(back)
        monitoring.record_cycle(back)
        monitoring.record_cycle(back + timedelta(seconds=5))
        deliver(task_queue, back)
    [record] = Incident.objects.interruptions()
    assert record.status == IncidentStatus.RESOLVED and record.resolved_at == back
    inbox = received(sandbox)
    assert len(inbox["+14155550199"]) == 2 and len(inbox["ada@example.org"]) == 2
    assert inbox["+14155550199"][1] == (
        "Acme Status: Monitoring restored at 2026-11-27 01:05 UTC: the engine completes probe "
        "cycles again (interrupted since 01:00 UTC). Public pages show the checked status "
        "again; look at the console for anything that failed meanwhile. "
        "http://127.0.0.1:9/manage/"
    )
    assert inbox["ada@example.org"][1].startswith(
        "Monitoring restored (interrupted since 01:00 UTC)\n"
    )


def test_a_second_interruption_pages_again_with_its_own_record(sandbox, task_queue):
    with time_machine.travel(SILENT, tick=False) as traveller:
        watchdog()
        monitoring.record_cycle(SILENT)
        traveller.move_to(SILENT + timedelta(seconds=25))
        watchdog()
    kinds = list(Incident.objects.interruptions().order_by("id").values_list("status", flat=True))
    assert kinds == [IncidentStatus.RESOLVED, IncidentStatus.INVESTIGATING]


def test_an_interruption_record_is_never_public_nor_escalated(client, task_queue):
    key = issue_token(user_in("Support staff", "sam"), "deploy bot")
    with time_machine.travel(SILENT, tick=False):
        watchdog()
        assert clock.tick(SILENT + timedelta(hours=1)) == 0
        assert Incident.objects.public().count() == 0
        monitoring.record_cycle(SILENT)
        assert client.get("/api/v2/incidents.json").json()["incidents"] == []
        staff_api = client.get("/api/manage/v1/incidents", HTTP_AUTHORIZATION=f"OAuth {key}")
        assert staff_api.status_code == 200 and staff_api.json()["incidents"] == []
    assert Incident.objects.interruptions().get().published_at is None


def test_a_reader_that_saw_the_silence_after_the_engine_came_back_pages_nobody(task_queue):
    with time_machine.travel(SILENT, tick=False):
        stale = monitoring.compute_state(SILENT)
        monitoring.record_cycle(SILENT)
        assert monitoring.raise_alarm(stale, SILENT) is False
    assert not Incident.objects.interruptions().exists()


@pytest.mark.parametrize(
    "channel, part",
    [
        (name, part.name)
        for name, cls in sorted(registered().items())
        if Recipients.ONCALL in cls.recipients
        for part in cls.parts
    ],
)
@pytest.mark.parametrize("kind", ["monitoring_interrupted", "monitoring_restored"])
def test_every_oncall_channel_words_both_kinds_within_its_limits(channel, part, kind):
    with time_machine.travel(SILENT, tick=False):
        watchdog()
        if kind == "monitoring_restored":
            monitoring.record_cycle(SILENT)
    incident = Incident.objects.interruptions().get()
    update = incident.updates(manager="everything").get(kind=kind)
    announcement = Announcement.objects.get(update=update, channel="email")
    announcement.channel = channel
    assert "onitoring" in render_message(channel, kind, message_context(announcement), part)


def test_with_a_schedule_the_watchdog_pages_whoever_is_on_call_now_not_the_whole_roster(
    sandbox, task_queue
):
    ana, ben = person("Ana", 1), person("Ben", 2)
    weekly_schedule(ana, ben)  # Ben's week at NOW
    with time_machine.travel(SILENT, tick=False):
        assert watchdog() == 2
        deliver(task_queue, SILENT)
    inbox = received(sandbox)
    assert ben.phone in inbox and ben.email in inbox
    assert ana.phone not in inbox and "+14155550199" not in inbox  # off duty, and roster only
