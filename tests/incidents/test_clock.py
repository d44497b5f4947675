"""The escalation clock: the default policy's timing, exactly-once firing, staff controls."""

import threading
from datetime import timedelta

import pytest
from django.db import connection

from incidents.models import FiredStep, Incident, IncidentUpdate
from incidents.response import clock, workflow
from incidents.response.policies import DEFAULT_POLICY_NAME
from notifiers.models import Announcement
from statuspage.models import Verdict
from tests.clock import NOW

pytestmark = pytest.mark.django_db

MIN = timedelta(minutes=1)


def fired_actions(incident):
    return [(f.step.action, f.step.recipients, f.outcome) for f in incident.fired_steps.all()]


def open_incident(probe):
    return workflow.handle_verdict(probe, Verdict.CONFIRMED_DOWN, NOW)


def test_opening_chooses_the_default_policy_and_fires_t0_steps_at_once(down_probe):
    incident = open_incident(down_probe)
    assert incident.policy.name == DEFAULT_POLICY_NAME
    actions = fired_actions(incident)
    assert ("page", "", "fired") in actions
    assert ("publish", "app_users", "fired") in actions
    assert incident.published_at == NOW
    assert not any(r == "subscribers" for _, r, _ in actions)


def test_subscribers_hear_after_10_minutes_and_social_after_15(down_probe):
    incident = open_incident(down_probe)
    clock.tick(NOW + 9 * MIN)
    assert not incident.fired_steps.filter(step__recipients="subscribers").exists()
    clock.tick(NOW + 10 * MIN)
    assert (
        incident.fired_steps.filter(step__recipients="subscribers", step__delay_seconds=600).count()
        == 1
    )
    assert not incident.fired_steps.filter(step__recipients="public").exists()
    clock.tick(NOW + 15 * MIN)
    assert incident.fired_steps.filter(step__recipients="public").count() == 1


def test_a_step_naming_an_unregistered_channel_fires_with_a_visible_note(
    down_probe, only_push_registered
):
    incident = open_incident(down_probe)
    clock.tick(NOW + 15 * MIN)
    social = incident.fired_steps.get(step__recipients="public")
    assert social.outcome == FiredStep.Outcome.FIRED
    public = sorted(
        name
        for name, cls in only_push_registered.items()
        if any(slot.recipients == "public" for slot in cls.escalation)
    )
    assert {"bluesky", "facebook", "mastodon", "x"} <= set(public)
    assert f"channel not available: {', '.join(public)}" in social.note


def test_resolved_before_10_minutes_subscribers_are_never_told(down_probe):
    incident = open_incident(down_probe)
    workflow.resolve(incident, NOW + 5 * MIN)
    clock.tick(NOW + 30 * MIN)
    assert not incident.fired_steps.filter(step__recipients="subscribers").exists()


def test_each_step_fires_once_however_often_the_clock_ticks(down_probe):
    incident = open_incident(down_probe)
    for seconds in range(0, 20 * 60, 15):
        clock.tick(NOW + timedelta(seconds=seconds))
    keys = list(incident.fired_steps.values_list("key", flat=True))
    assert len(keys) == len(set(keys))
    assert (
        incident.fired_steps.filter(step__recipients="subscribers", step__delay_seconds=600).count()
        == 1
    )


def test_a_restarted_engine_fires_what_was_due_while_it_was_down_and_nothing_twice(down_probe):
    incident = open_incident(down_probe)
    clock.tick(NOW + 5 * MIN)
    before = set(incident.fired_steps.values_list("key", flat=True))
    # The engine was stopped from T+5 to T+16: both T+10 and T+15 steps are due on restart.
    fresh = Incident.objects.get(id=incident.id)
    clock.tick(NOW + 16 * MIN)
    clock.tick(NOW + 16 * MIN)
    after = set(fresh.fired_steps.values_list("key", flat=True))
    assert before < after
    assert fresh.fired_steps.filter(step__recipients="subscribers").exists()
    assert fresh.fired_steps.filter(step__recipients="public").exists()
    assert fresh.fired_steps.count() == len(after)


def test_a_step_another_engine_already_took_is_not_fired_again(down_probe):
    incident = open_incident(down_probe)
    stale = Incident.objects.get(id=incident.id)
    taken_elsewhere = clock.advance(Incident.objects.get(id=incident.id), NOW + 10 * MIN)
    assert taken_elsewhere
    fired, announced = FiredStep.objects.count(), Announcement.objects.count()
    # This engine computed its due list from state read before the other engine fired.
    due = [
        d
        for step in stale.policy.steps.all()
        for d in clock.due_occurrences(stale, step, NOW + 10 * MIN, set())
    ]
    results = [clock.fire(stale, d, NOW + 10 * MIN) for d in due]
    assert due and all(r is None for r in results)
    assert (FiredStep.objects.count(), Announcement.objects.count()) == (fired, announced)


@pytest.mark.django_db(transaction=True)
def test_two_engines_ticking_at_once_fire_each_step_exactly_once(down_probe):
    incident = open_incident(down_probe)
    barrier = threading.Barrier(2)
    errors = []

    def engine():
        try:
            barrier.wait()
            clock.tick(NOW + 16 * MIN)
        except Exception as error:  # surfaced below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=engine) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    keys = list(incident.fired_steps.values_list("key", flat=True))
    assert len(keys) == len(set(keys))
    assert (
        incident.fired_steps.filter(step__recipients="subscribers", step__delay_seconds=600).count()
        == 1
    )
    subscriber_updates = Announcement.objects.filter(recipients="subscribers", channel="push")
    assert subscriber_updates.count() <= 1


def test_a_clock_jump_fires_each_once_step_and_only_the_latest_reminder(down_probe):
    incident = open_incident(down_probe)
    clock.tick(NOW + 2 * timedelta(hours=1) + MIN)
    reminders = incident.fired_steps.filter(step__action="remind").order_by("due_at")
    assert [r.outcome for r in reminders] == ["skipped", "skipped", "skipped", "fired"]
    assert "a later repetition was due" in reminders[0].note
    assert (
        incident.fired_steps.filter(step__recipients="subscribers").count() == 2
    )  # email+sms, webhook steps
    holding = IncidentUpdate.objects.filter(incident=incident, kind="holding")
    assert holding.count() == 1


def test_holding_update_keeps_the_promise_of_the_last_update(down_probe):
    incident = open_incident(down_probe)
    opened = incident.updates.get()
    assert opened.next_update_by == NOW + 30 * MIN
    assert "Next update by 01:30 UTC." in opened.body
    clock.tick(NOW + 29 * MIN)
    assert not incident.updates.filter(kind="holding").exists()
    clock.tick(NOW + 30 * MIN)
    holding = incident.updates.get(kind="holding")
    assert holding.next_update_by == NOW + 60 * MIN
    assert "Next update by 02:00 UTC." in holding.body
    assert "What to do now: Check glucose with a meter." in holding.body


def test_a_staff_update_moves_the_promise_and_the_holding_update_with_it(down_probe, admin_user):
    incident = open_incident(down_probe)
    workflow.post_update(
        incident, "We found the cause.", admin_user, NOW + 20 * MIN, status="identified"
    )
    clock.tick(NOW + 30 * MIN)
    assert not incident.updates.filter(kind="holding").exists()
    clock.tick(NOW + 50 * MIN)
    assert incident.updates.filter(kind="holding").count() == 1


def test_reminder_skipped_when_staff_posted_recently(down_probe, admin_user):
    incident = open_incident(down_probe)
    workflow.post_update(incident, "Still on it.", admin_user, NOW + 25 * MIN)
    clock.tick(NOW + 30 * MIN)
    reminder = incident.fired_steps.get(step__action="remind")
    assert reminder.outcome == "skipped"
    assert "staff posted an update 5 min ago" in reminder.note
    clock.tick(NOW + 60 * MIN)
    assert incident.fired_steps.filter(step__action="remind", outcome="fired").count() == 1


def test_acknowledge_stops_paging_but_not_the_public_cadence(down_probe, admin_user):
    incident = open_incident(down_probe)
    assert workflow.acknowledge(incident, admin_user, NOW + 2 * MIN)
    assert not workflow.acknowledge(incident, admin_user, NOW + 3 * MIN)
    clock.tick(NOW + 16 * MIN)
    assert not incident.fired_steps.filter(step__action="page", step__delay_seconds=300).exists()
    assert incident.fired_steps.filter(step__recipients="public").exists()
    assert incident.audit_events.filter(action="acknowledged", actor=admin_user).count() == 1


def test_hold_pauses_public_steps_until_it_ends_and_is_audited(down_probe, admin_user):
    incident = open_incident(down_probe)
    workflow.hold(incident, admin_user, 20, "Waiting for legal review of the wording", NOW + MIN)
    clock.tick(NOW + 15 * MIN)
    assert not incident.fired_steps.filter(step__recipients="subscribers").exists()
    clock.tick(NOW + 21 * MIN + timedelta(seconds=15))
    assert incident.fired_steps.filter(step__recipients="subscribers").exists()
    event = incident.audit_events.get(action="held public updates")
    assert event.reason == "Waiting for legal review of the wording"
    assert event.before["held_until"] is None and event.after["held_until"]


def test_a_hold_needs_a_reason_and_a_bounded_length(down_probe, admin_user):
    incident = open_incident(down_probe)
    with pytest.raises(workflow.InvalidTransition, match="Say why"):
        workflow.hold(incident, admin_user, 10, " ", NOW)
    with pytest.raises(workflow.InvalidTransition, match="1 to 120 minutes"):
        workflow.hold(incident, admin_user, 600, "long", NOW)


def test_publish_now_fires_a_step_early_once(down_probe, admin_user):
    incident = open_incident(down_probe)
    step = incident.policy.steps.get(recipients="subscribers", delay_seconds=600)
    early = clock.fire_now(incident, step, NOW + 2 * MIN, admin_user)
    assert early.fired_at == NOW + 2 * MIN and "fired early by" in early.note
    clock.tick(NOW + 10 * MIN)
    assert incident.fired_steps.filter(step=step).count() == 1


def test_upcoming_lists_what_the_clock_will_do_next(down_probe):
    incident = open_incident(down_probe)
    rows = clock.upcoming(incident, NOW + MIN)
    assert rows[0]["at"] == NOW + 5 * MIN
    assert [r["at"] for r in rows] == sorted(r["at"] for r in rows)


def test_paging_with_an_empty_roster_says_so(down_probe):
    incident = open_incident(down_probe)
    page = incident.fired_steps.get(step__action="page", step__delay_seconds=0)
    assert "no one is on call: add active contacts to the roster" in page.note


def test_paging_with_someone_on_call_has_no_roster_warning(down_probe):
    from incidents.models import OnCallContact

    OnCallContact.objects.create(name="Ana", phone="+14155550100", email="ana@example.com")
    incident = open_incident(down_probe)
    page = incident.fired_steps.get(step__action="page", step__delay_seconds=0)
    assert "no one is on call" not in page.note


def test_the_resolution_also_reaches_the_on_call_staff_who_were_paged(down_probe):
    from incidents.models import Action, EscalationPolicy, EscalationStep

    policy = EscalationPolicy.objects.create(name="Page by push", priority=1)
    EscalationStep.objects.create(policy=policy, action=Action.PAGE, channels=["push"])
    EscalationStep.objects.create(
        policy=policy, action=Action.PUBLISH, recipients="app_users", channels=["page", "push"]
    )
    incident = open_incident(down_probe)
    resolution = workflow.resolve(incident, NOW + 5 * MIN)
    assert set(resolution.announcements.values_list("recipients", flat=True)) == {
        "app_users",
        "component_topics",
        "oncall",
    }
    staff_update = workflow.post_update(
        Incident.objects.create(
            name="other",
            started_at=NOW,
            detected_at=NOW,
            created_at=NOW,
            updated_at=NOW,
            published_at=NOW,
        ),
        "Looking into it now.",
        None,
        NOW,
    )
    assert not staff_update.announcements.exists()


def test_a_step_that_fails_is_rolled_back_and_tried_again_next_tick(down_probe, monkeypatch):
    incident = open_incident(down_probe)

    def broken(*args):
        raise RuntimeError("provider SDK exploded")

    monkeypatch.setattr(clock, "publish", broken)
    clock.tick(NOW + 10 * MIN)
    assert not incident.fired_steps.filter(step__recipients="subscribers").exists()
    monkeypatch.undo()
    clock.tick(NOW + 10 * MIN + timedelta(seconds=15))
    assert incident.fired_steps.filter(step__recipients="subscribers").count() == 1
    assert incident.fired_steps.filter(step__action="page", step__delay_seconds=300).count() == 1


def test_a_clock_that_jumps_back_fires_nothing_again(down_probe):
    incident = open_incident(down_probe)
    clock.tick(NOW + 16 * MIN)
    before = incident.fired_steps.count()
    clock.tick(NOW + 5 * MIN)
    clock.tick(NOW + 16 * MIN)
    assert incident.fired_steps.count() == before


def test_the_engine_housekeeping_ticks_the_clock(down_probe):
    from statuspage.probes.engine import housekeeping

    incident = open_incident(down_probe)
    housekeeping(NOW + 10 * MIN)
    assert incident.fired_steps.filter(step__recipients="subscribers").count() == 1
