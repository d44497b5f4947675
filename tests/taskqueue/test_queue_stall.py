"""A stalled task queue pages on-call once, directly (not through the stuck queue), shows in
the staff alerts and the watchdog, and says once when it moves again."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
import time_machine
from django.core.management import call_command
from django_q.tasks import async_task

from incidents.console.alerts import staff_alerts
from incidents.response.queue_stall import check_queue
from notifiers.delivery.queue_health import queue_health
from notifiers.models import Delivery, TaskQueueBeat
from statuspage.probes.engine import housekeeping
from tests.clock import NOW
from tests.tasks import run_queued_tasks

QUEUED_AT = NOW - timedelta(minutes=5)


@dataclass
class Contact:
    name: str
    phone: str
    email: str


def on_call() -> list[Contact]:
    return [Contact("Ada", "+14155550199", "ada@example.org")]


@pytest.fixture(autouse=True)
def roster(settings):
    settings.NOTIFIERS_ONCALL_PROVIDER = "tests.taskqueue.test_queue_stall.on_call"
    settings.STATUSPAGE = {**settings.STATUSPAGE, "NAME": "Acme Status"}


@pytest.fixture
def stuck_work(broker):
    """Three tasks queued five minutes before NOW, none finished since."""
    with time_machine.travel(QUEUED_AT, tick=False):
        for _ in range(3):
            async_task("math.floor", 1.5)


def pages(sandbox) -> list[tuple[str, str]]:
    texts = [
        (r["target"], r["payload"]["Body"])
        for r in sandbox.recorder.list(provider="twilio")
        if r["kind"] == "sms"
    ]
    mails = [
        (r["target"], r["payload"]["text"]) for r in sandbox.recorder.list(provider="sendgrid")
    ]
    return texts + mails


def test_a_stalled_queue_pages_oncall_once_by_sms_and_email_without_the_outbox(stuck_work, sandbox):
    with time_machine.travel(NOW, tick=False):
        health = check_queue(NOW)
        check_queue(NOW + timedelta(seconds=5))  # a second engine, a later pass
        with pytest.raises(SystemExit) as watchdog:
            call_command("watchdog")
    assert health.stalled and health.depth == 3 and health.oldest_age_seconds == 300
    assert watchdog.value.code == 3
    sent = pages(sandbox)
    assert [target for target, _ in sent] == ["+14155550199", "ada@example.org"]
    assert all(
        "Task queue stuck: 3 tasks waiting, the oldest for 300 s" in body for _, body in sent
    )
    assert Delivery.objects.count() == 0, "the page did not go through the outbox"


def test_the_queue_moving_again_is_said_once(stuck_work, sandbox):
    with time_machine.travel(NOW, tick=False):
        check_queue(NOW)
    sandbox.recorder.clear()
    with time_machine.travel(NOW + timedelta(seconds=30), tick=False):
        assert run_queued_tasks() == 3  # django-q2's worker code stamps the beat row
        check_queue(NOW + timedelta(seconds=30))
        check_queue(NOW + timedelta(seconds=35))
    sent = pages(sandbox)
    assert len(sent) == 2
    assert all("Task queue moving again" in body for _, body in sent)
    assert TaskQueueBeat.objects.get().alarm_raised_at is None


def test_the_engine_housekeeping_pages_about_a_stalled_queue(stuck_work, sandbox, settings):
    assert "incidents.response.queue_stall.check_queue" in settings.ENGINE["HOUSEKEEPING"]
    settings.ENGINE = {
        **settings.ENGINE,
        "HOUSEKEEPING": ["incidents.response.queue_stall.check_queue"],
    }
    with time_machine.travel(NOW, tick=False):
        housekeeping(NOW)
    assert len(pages(sandbox)) == 2


def test_a_stalled_queue_is_named_in_the_staff_alerts(stuck_work):
    with time_machine.travel(NOW, tick=False):
        [alert] = staff_alerts()
    assert alert.kind == "queue_stalled"
    assert "Task queue stuck: 3 tasks waiting" in alert.message


def test_old_work_is_no_stall_while_workers_finish_tasks(stuck_work, sandbox):
    TaskQueueBeat.stamp_finished("statuspage", NOW - timedelta(seconds=10))
    with time_machine.travel(NOW, tick=False):
        health = check_queue(NOW)
    assert not health.stalled and health.since_finished_seconds == 10
    assert pages(sandbox) == []


def test_an_empty_queue_is_no_stall_however_long_since_a_task_finished(broker, sandbox):
    TaskQueueBeat.stamp_finished("statuspage", NOW - timedelta(hours=3))
    with time_machine.travel(NOW, tick=False):
        health = queue_health(NOW)
    assert not health.stalled and health.depth == 0 and health.oldest_age_seconds is None
