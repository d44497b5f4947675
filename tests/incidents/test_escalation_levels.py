"""Escalation levels inside a page step: the T+0 page goes to whoever the schedule says,
the next level when nobody acknowledged within its wait, then the levels again; each page
fires once however many engines tick, and reaches the people recorded when it fired."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import requests
import time_machine
from django.db import connection

from incidents.models import (
    Action,
    EscalationLevel,
    EscalationPolicy,
    EscalationStep,
    FiredStep,
    PagedContact,
)
from incidents.response import clock, workflow
from statuspage.models import Verdict
from tests.clock import NOW
from tests.incidents.oncall_factories import madrid, person, weekly_schedule

pytestmark = pytest.mark.django_db(transaction=True)

MIN = timedelta(minutes=1)
CHANNELS = ["sms", "voice", "email"]


@pytest.fixture
def team(db):
    return person("Ana", 1), person("Ben", 2), person("Cai", 3)


@pytest.fixture
def levels_policy(team):
    """Level 1: the Madrid rotation (Ben's week at NOW); level 2: Cai; twice round."""
    ana, ben, cai = team
    schedule = weekly_schedule(ana, ben)
    policy = EscalationPolicy.objects.create(name="Levels", priority=1)
    step = EscalationStep.objects.create(
        policy=policy, action=Action.PAGE, channels=CHANNELS, levels_repeat=1
    )
    EscalationLevel.objects.create(step=step, position=1, schedule=schedule, wait_minutes=10)
    second = EscalationLevel.objects.create(step=step, position=2, wait_minutes=10)
    second.contacts.add(cai)
    return step


def open_incident(probe, at=NOW):
    with time_machine.travel(at, tick=True):  # the task broker stamps its queue with real time
        return workflow.handle_verdict(probe, Verdict.CONFIRMED_DOWN, at)


def tick(at):
    with time_machine.travel(at, tick=True):
        clock.tick(at)


def paged(incident) -> list[tuple[str, int]]:
    rows = PagedContact.objects.filter(update__incident=incident).order_by("id")
    return [(row.name, row.level) for row in rows]


def sent_to(sandbox, task_queue, at) -> set[tuple[str, str]]:
    with time_machine.travel(at + MIN, tick=True):  # a minute on: what was queued is due
        task_queue()
    texts = {
        (r["kind"], r["target"])
        for r in sandbox.recorder.list(provider="twilio")
        if r["kind"] in ("sms", "call")
    }
    return texts | {("email", r["target"]) for r in sandbox.recorder.list(provider="sendgrid")}


def test_the_t0_page_goes_to_whoever_the_schedule_has_on_call(
    down_probe, levels_policy, sandbox, task_queue
):
    incident = open_incident(down_probe)
    assert paged(incident) == [("Ben", 1)]
    assert sent_to(sandbox, task_queue, NOW) == {
        ("sms", "+34600000002"),
        ("call", "+34600000002"),
        ("email", "ben@example.org"),
    }


def test_level_two_is_paged_after_its_wait_without_an_acknowledgement(
    down_probe, levels_policy, sandbox, task_queue
):
    incident = open_incident(down_probe)
    sent_to(sandbox, task_queue, NOW)
    clock.tick(NOW + 9 * MIN)
    assert paged(incident) == [("Ben", 1)]
    tick(NOW + 10 * MIN)
    assert paged(incident) == [("Ben", 1), ("Cai", 2)]
    assert ("sms", "+34600000003") in sent_to(sandbox, task_queue, NOW + 10 * MIN)


def test_an_acknowledgement_stops_the_next_levels(down_probe, levels_policy, admin_user):
    incident = open_incident(down_probe)
    workflow.acknowledge(incident, admin_user, NOW + 5 * MIN)
    clock.tick(NOW + 10 * MIN)
    clock.tick(NOW + 20 * MIN)
    assert paged(incident) == [("Ben", 1)]


def test_the_levels_repeat_from_level_one_as_often_as_the_step_says(down_probe, levels_policy):
    incident = open_incident(down_probe)
    for minutes in range(0, 61, 5):
        clock.tick(NOW + minutes * MIN)
    assert paged(incident) == [("Ben", 1), ("Cai", 2), ("Ben", 1), ("Cai", 2)]


def test_two_engines_ticking_at_the_same_moment_page_each_level_once(down_probe, levels_policy):
    incident = open_incident(down_probe)
    barrier = threading.Barrier(2)
    errors = []

    def engine():
        try:
            barrier.wait()
            clock.tick(NOW + 10 * MIN)
        except Exception as error:  # surfaced below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=engine) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    clock.tick(NOW + 10 * MIN)
    assert not errors, errors
    assert paged(incident) == [("Ben", 1), ("Cai", 2)]
    keys = list(incident.fired_steps.values_list("key", flat=True))
    assert len(keys) == len(set(keys))


def test_a_stopped_engine_pages_only_the_latest_level_due(down_probe, levels_policy):
    incident = open_incident(down_probe)
    clock.tick(NOW + 25 * MIN)
    assert paged(incident) == [("Ben", 1), ("Ben", 1)]
    skipped = incident.fired_steps.get(outcome=FiredStep.Outcome.SKIPPED)
    assert skipped.key.endswith("round:0:level:2") and "later level" in skipped.note


def test_a_page_sent_after_a_hand_off_still_reaches_who_it_was_fixed_for(
    down_probe, levels_policy, sandbox, task_queue
):
    # Monday 30 November: Ben's week ends at 09:00 Madrid, and Ana's begins.
    before = madrid(2026, 11, 30, 8, 55)
    down_probe.first_failure_at = before - timedelta(seconds=20)
    down_probe.save()
    incident = open_incident(down_probe, before)
    targets = sent_to(sandbox, task_queue, madrid(2026, 11, 30, 9, 5))
    assert paged(incident) == [("Ben", 1)]
    assert ("sms", "+34600000002") in targets
    assert not any(target == "+34600000001" for _, target in targets)


def test_a_page_step_without_levels_pages_the_schedule_not_the_whole_roster(
    down_probe, team, sandbox, task_queue
):
    ana, ben, _ = team
    weekly_schedule(ana, ben)
    policy = EscalationPolicy.objects.create(name="Plain page", priority=1)
    EscalationStep.objects.create(policy=policy, action=Action.PAGE, channels=["sms"])
    incident = open_incident(down_probe)
    assert paged(incident) == [("Ben", 0)]
    assert sent_to(sandbox, task_queue, NOW) == {("sms", "+34600000002")}


def test_the_console_shows_when_the_next_level_is_due(down_probe, levels_policy):
    incident = open_incident(down_probe)
    [row] = [r for r in clock.upcoming(incident, NOW + MIN) if r["step"] == levels_policy]
    assert row["at"] == NOW + 10 * MIN


def test_publish_now_pages_the_next_level_early_and_once(down_probe, levels_policy, admin_user):
    incident = open_incident(down_probe)
    assert clock.fire_now(incident, levels_policy, NOW + MIN, admin_user) is not None
    clock.tick(NOW + 10 * MIN)
    assert paged(incident) == [("Ben", 1), ("Cai", 2)]


def test_levels_load_from_the_policies_file(team, tmp_path):
    from incidents.response.policies import PolicyError, load_policies

    ana, ben, _ = team
    weekly_schedule(ana, ben)
    path = tmp_path / "policies.yaml"
    path.write_text(
        "policies:\n"
        "  - name: Levels from YAML\n"
        "    steps:\n"
        "      - {after: 0, do: page, channels: [sms], repeat: 2, levels: [\n"
        "          {schedule: Follow service, wait: 10m}, {contacts: [Cai], wait: 5m}]}\n"
    )
    [policy] = load_policies(path)
    step = policy.steps.get()
    assert step.levels_repeat == 2
    assert [(lv.schedule and lv.schedule.name, lv.wait_minutes) for lv in step.levels.all()] == [
        ("Follow service", 10),
        (None, 5),
    ]
    path.write_text(path.read_text().replace("[Cai]", "[Zed]"))
    with pytest.raises(PolicyError, match=r"^policies\[0\]\.steps\[0\]\.levels\[1\]\.contacts: "):
        load_policies(path)


def test_a_text_back_from_level_one_stops_level_two(
    down_probe, levels_policy, sandbox, task_queue, live_server, settings
):
    """Acknowledging from the page (issue 18, item 2) is an acknowledgement like any other."""
    settings.STATUSPAGE = {**settings.STATUSPAGE, "URL": live_server.url}
    incident = open_incident(down_probe)
    sent_to(sandbox, task_queue, NOW)
    reply = requests.post(
        f"{sandbox.url}/_sandbox/twilio/inbound",
        json={
            "url": f"{live_server.url}/hooks/twilio/inbound",
            "from": "+34600000002",
            "to": "+14155550000",
            "body": "ACK",
        },
        timeout=10,
    )
    assert reply.status_code == 200 and reply.json()["status"] == 200
    tick(NOW + 10 * MIN)
    assert paged(incident) == [("Ben", 1)]
