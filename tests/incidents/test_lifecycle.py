"""Lifecycle: staff-opened incidents, the false-alarm path, maintenance windows, policies."""

from datetime import timedelta

import pytest

from incidents.models import Incident, IncidentUpdate, InvalidTransition
from incidents.response import clock, maintenance, workflow
from incidents.response.policies import PolicyError, choose_policy, load_policies
from notifiers.models import Announcement
from statuspage.models import Component, ComponentStatus, ProbeState, Verdict
from tests.clock import NOW
from tests.factories import make_component

pytestmark = pytest.mark.django_db

MIN = timedelta(minutes=1)


def test_probe_that_recovers_before_any_public_step_is_closed_quietly(down_probe, quiet_policy):
    incident = workflow.handle_verdict(down_probe, Verdict.CONFIRMED_DOWN, NOW)
    assert incident.policy == quiet_policy
    assert incident.published_at is None
    assert Component.objects.get(id=down_probe.component_id).status == ComponentStatus.OPERATIONAL
    down_probe.state = ProbeState.UP
    down_probe.save()
    workflow.handle_verdict(down_probe, Verdict.CONFIRMED_UP, NOW + 2 * MIN)
    incident.refresh_from_db()
    assert incident.status == "resolved" and incident.false_alarm
    assert not Incident.objects.public().exists()
    assert not Announcement.objects.exclude(recipients="oncall").exists()
    note = IncidentUpdate.everything.get(incident=incident, kind="note")
    assert note.internal and "False alarm" in note.body
    assert incident.updates.filter(kind="note").count() == 0  # hidden from public readers
    assert incident.audit_events.filter(action="closed quietly as a false alarm").exists()
    clock.tick(NOW + 10 * MIN)
    assert incident.fired_steps.filter(step__action="publish").count() == 0


def test_quiet_policy_publishes_and_shows_status_when_its_public_step_comes(
    down_probe, quiet_policy
):
    incident = workflow.handle_verdict(down_probe, Verdict.CONFIRMED_DOWN, NOW)
    clock.tick(NOW + 5 * MIN)
    incident.refresh_from_db()
    assert incident.published_at == NOW + 5 * MIN
    assert Component.objects.get(id=down_probe.component_id).status == ComponentStatus.MAJOR_OUTAGE
    assert Incident.objects.public().get() == incident


def test_staff_opened_incident_is_public_at_once_and_runs_the_clock(admin_user):
    component = make_component()
    incident = workflow.open_by_staff(
        "Delayed alerts",
        "Some followers get alarms late.",
        "major",
        {component: ComponentStatus.PARTIAL_OUTAGE},
        admin_user,
        NOW,
    )
    component.refresh_from_db()
    assert component.status == ComponentStatus.PARTIAL_OUTAGE
    assert incident.published_at == NOW
    assert incident.updates.get().author == admin_user
    assert incident.fired_steps.filter(step__action="publish").exists()


def test_invalid_transitions_are_refused_with_a_clear_message(admin_user):
    incident = workflow.open_by_staff("X", "y", "minor", {}, admin_user, NOW)
    workflow.resolve(incident, NOW + MIN)
    with pytest.raises(
        InvalidTransition, match="An incident that is Resolved cannot become Identified"
    ):
        workflow.post_update(incident, "again", admin_user, NOW + 2 * MIN, status="identified")


def test_resolution_goes_to_everyone_told_on_the_channels_they_were_told_on(down_probe):
    incident = workflow.handle_verdict(down_probe, Verdict.CONFIRMED_DOWN, NOW)
    clock.tick(NOW + 16 * MIN)
    told = set(Announcement.objects.values_list("channel", "recipients", "audience"))
    update = workflow.resolve(incident, NOW + 20 * MIN)
    resolved = set(update.announcements.values_list("channel", "recipients", "audience"))
    assert resolved == told


def maintenance_window(component, start_in=timedelta(hours=80), length=timedelta(hours=2), **kw):
    return maintenance.schedule(
        "Database upgrade",
        "",
        [component],
        NOW + start_in,
        NOW + start_in + length,
        None,
        NOW,
        **kw,
    )


def test_maintenance_is_announced_ahead_starts_and_completes_by_itself():
    component = make_component()
    window = maintenance_window(component)
    assert window.status == "scheduled" and window.announce_before_minutes == [4320, 60]
    clock.tick(NOW + 8 * timedelta(hours=1) - MIN)
    assert not window.fired_steps.exists()
    clock.tick(NOW + 8 * timedelta(hours=1))  # 72 h before the start
    assert window.fired_steps.get(key="maintenance:ahead:4320").outcome == "fired"
    clock.tick(NOW + 79 * timedelta(hours=1))
    assert window.fired_steps.get(key="maintenance:ahead:60").outcome == "fired"
    assert not maintenance.is_under_maintenance(component, NOW + 79 * timedelta(hours=1))
    clock.tick(NOW + 80 * timedelta(hours=1))
    window.refresh_from_db()
    component.refresh_from_db()
    assert window.status == "in_progress"
    assert component.status == ComponentStatus.UNDER_MAINTENANCE
    assert maintenance.is_under_maintenance(component, NOW + 81 * timedelta(hours=1))
    clock.tick(NOW + 82 * timedelta(hours=1))
    window.refresh_from_db()
    component.refresh_from_db()
    assert window.status == "completed"
    assert component.status == ComponentStatus.OPERATIONAL
    kinds = list(window.updates.order_by("display_at", "id").values_list("kind", flat=True))
    assert kinds == [
        "maintenance_scheduled",
        "maintenance_scheduled",
        "maintenance_scheduled",
        "maintenance_started",
        "maintenance_completed",
    ]


def test_a_maintenance_scheduled_at_short_notice_sends_one_notice_not_two():
    component = make_component()
    window = maintenance_window(component, start_in=timedelta(minutes=30))
    clock.tick(NOW + MIN)
    outcomes = dict(window.fired_steps.values_list("key", "outcome"))
    assert outcomes == {"maintenance:ahead:4320": "skipped", "maintenance:ahead:60": "fired"}


def test_window_counts_as_maintenance_before_the_clock_starts_it(down_probe):
    window = maintenance_window(down_probe.component, start_in=timedelta(minutes=10))
    inside = NOW + 11 * MIN
    assert maintenance.is_under_maintenance(down_probe.component, inside)
    assert workflow.handle_verdict(down_probe, Verdict.CONFIRMED_DOWN, inside) is None
    assert not Incident.objects.incidents().exists()
    assert window.status == "scheduled"


def test_maintenance_lifecycle_refuses_incident_statuses():
    window = maintenance_window(make_component())
    with pytest.raises(InvalidTransition):
        window.transition_to("resolved", NOW)
    window.transition_to("in_progress", NOW)
    window.transition_to("verifying", NOW)
    window.transition_to("completed", NOW)


def test_maintenance_must_end_after_it_starts():
    with pytest.raises(ValueError, match="end after it starts"):
        maintenance_window(make_component(), length=timedelta(0))


def test_policies_load_from_yaml_and_are_chosen_by_component_and_impact(tmp_path):
    follow = make_component()
    path = tmp_path / "policies.yaml"
    path.write_text(
        "policies:\n"
        "  - name: Minor only\n"
        "    impacts: [minor]\n"
        "    components: [Follow app alerts]\n"
        "    priority: 10\n"
        "    steps:\n"
        "      - {after: 5m, do: publish, to: app_users, channels: [page, push]}\n"
        "      - {after: 1h, do: remind, channels: [email], every: 1h, if_quiet_for: 30m}\n"
    )
    [policy] = load_policies(path)
    assert [s.delay_seconds for s in policy.steps.all()] == [300, 3600]
    assert choose_policy([follow], "minor") == policy
    assert choose_policy([follow], "critical").name == "Default"


def test_a_wrong_policy_file_names_the_field_and_changes_nothing(tmp_path):
    path = tmp_path / "policies.yaml"
    path.write_text("policies:\n  - name: Bad\n    steps:\n      - {after: soon, do: publish}\n")
    with pytest.raises(
        PolicyError, match=r"policies\[0\]\.steps\[0\]\.after: 'soon' is not a duration"
    ):
        load_policies(path)
    from incidents.models import EscalationPolicy

    assert not EscalationPolicy.objects.filter(name="Bad").exists()


def test_the_public_page_shows_when_the_next_update_comes(client, down_probe):
    import time_machine

    with time_machine.travel(NOW, tick=False):
        workflow.handle_verdict(down_probe, Verdict.CONFIRMED_DOWN, NOW)
        page = client.get("/").content.decode()
    assert '<strong>Next update by</strong> <time datetime="2026-11-27T01:30:00+00:00"' in page


def test_the_example_policy_file_loads():
    from pathlib import Path

    from django.conf import settings

    [policy] = load_policies(Path(settings.BASE_DIR) / "incidents" / "policies.example.yaml")
    assert policy.impacts == ["minor"] and policy.steps.count() == 5


def test_a_publish_step_without_recipients_or_channels_is_refused():
    from django.core.exceptions import ValidationError

    from incidents.models import EscalationPolicy, EscalationStep

    step = EscalationStep(
        policy=EscalationPolicy.objects.create(name="p"), action="publish", channels="email"
    )
    with pytest.raises(ValidationError) as refused:
        step.full_clean()
    assert set(refused.value.message_dict) == {"channels", "recipients"}


def test_a_maintenance_notice_says_which_channels_are_not_available(only_push_registered):
    window = maintenance_window(make_component(), start_in=timedelta(minutes=30))
    clock.tick(NOW + MIN)
    notice = window.fired_steps.get(key="maintenance:ahead:60")
    assert notice.note == "channel not available: email, sms, webhook"
