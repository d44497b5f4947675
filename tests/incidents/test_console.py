"""The staff console: roles, post-once with preview and confirmation, controls, progress."""

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse

from incidents.models import AuditEvent, Incident, IncidentUpdate
from incidents.response import workflow
from notifiers.models import Announcement, Delivery
from statuspage.models import Verdict
from tests.clock import NOW
from tests.factories import make_component, open_by_staff_elsewhere

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def incident(down_probe):
    return workflow.handle_verdict(down_probe, Verdict.CONFIRMED_DOWN, NOW)


def update_data(incident, **extra):
    return {
        "incident": incident.public_id,
        "status": "identified",
        "impact": "critical",
        "body": "We found the cause: an overloaded queue. Alerts are delayed by about 20 minutes.",
        "components": [c.id for c in incident.components.all()],
        "component_status": "partial_outage",
        "notify": "on",
        "next_update_minutes": 30,
        **extra,
    }


def test_console_needs_login(client):
    response = client.get(reverse("console-dashboard"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("console-login"))


def test_a_user_without_a_role_is_refused(client, outsider, incident):
    client.force_login(outsider)
    assert client.get(reverse("console-dashboard")).status_code == 403
    assert client.post(reverse("console-acknowledge", args=[incident.public_id])).status_code == 403
    incident.refresh_from_db()
    assert incident.acknowledged_at is None


def test_support_staff_run_incidents_but_cannot_configure(client, support_user, incident):
    client.force_login(support_user)
    assert client.get(reverse("console-dashboard")).status_code == 200
    response = client.post(reverse("console-acknowledge", args=[incident.public_id]))
    assert response.status_code == 302
    assert client.get(reverse("admin:incidents_escalationpolicy_changelist")).status_code == 403
    assert client.get(reverse("admin:statuspage_component_add")).status_code == 403
    assert client.get(reverse("admin:statuspage_probe_changelist")).status_code == 403
    assert client.get(reverse("admin:incidents_messagetemplate_add")).status_code == 403


def test_admins_configure_components_policies_and_templates(client, admin_role_user):
    client.force_login(admin_role_user)
    for name in [
        "incidents_escalationpolicy",
        "statuspage_component",
        "statuspage_probe",
        "incidents_messagetemplate",
        "incidents_oncallcontact",
    ]:
        assert client.get(reverse(f"admin:{name}_changelist")).status_code == 200, name


def test_dashboard_shows_clock_and_acknowledge_in_a_fixed_number_of_queries(
    client, support_user, down_probe, django_assert_max_num_queries
):
    client.force_login(support_user)
    workflow.handle_verdict(down_probe, Verdict.CONFIRMED_DOWN, NOW)
    # 20, engines, leader, dead, SMS budget, failed sends, escalation levels, on call (2)
    with django_assert_max_num_queries(28) as one:
        response = client.get(reverse("console-dashboard"))
    open_by_staff_elsewhere(support_user)
    with django_assert_max_num_queries(len(one.captured_queries)):
        response = client.get(reverse("console-dashboard"))
    text = response.content.decode()
    assert "Follow app alerts is not working as expected" in text
    assert "Not acknowledged: on-call staff are being paged" in text
    assert "Publish the current update" in text


def probes_needing_staff(n: int) -> None:
    """n probes flapping and n others that one region alone cannot reach."""
    from statuspage.models import ProbeState, RegionState
    from tests.factories import make_probe

    for i in range(n):
        component = make_component(f"Service {n}-{i}", None)
        make_probe(
            component,
            "http://127.0.0.1:1/",
            name="api",
            flapping_since=NOW,
            transitions=[NOW.isoformat()] * 5,
            flap_window_seconds=600,
        )
        regional = make_probe(
            component,
            "http://127.0.0.1:1/",
            name="edge",
            state=ProbeState.UP,
            regions=["eu-west", "us-east"],
        )
        RegionState.objects.create(
            probe=regional,
            region="eu-west",
            state=ProbeState.DOWN,
            since=NOW,
            last_error="connection refused",
        )


def test_dashboard_shows_the_staff_alerts_probes_raise_in_a_fixed_number_of_queries(
    client, support_user, django_assert_max_num_queries
):
    client.force_login(support_user)
    probes_needing_staff(1)
    with django_assert_max_num_queries(
        25
    ) as one:  # 20, engines, leader, dead, SMS budget, failed sends
        client.get(reverse("console-dashboard"))
    probes_needing_staff(3)
    with django_assert_max_num_queries(len(one.captured_queries)):
        response = client.get(reverse("console-dashboard"))
    text = response.content.decode()
    assert "Staff alerts" in text
    assert text.count("cannot reach") == 4 and text.count("is flapping") == 4
    assert (
        "Region eu-west cannot reach Service 3-2 (edge): connection refused. Other regions "
        "can, so this is not shown as an outage."
    ) in text
    assert "Service 3-0 (api) is flapping: 5 changes of state in 10 minutes." in text


def test_the_dashboard_says_when_monitoring_is_interrupted(client, support_user, frozen):
    from statuspage.picture.monitoring import record_cycle

    client.force_login(support_user)
    probes_needing_staff(1)
    record_cycle(NOW)
    frozen.shift(timedelta(minutes=5))
    text = client.get(reverse("console-dashboard")).content.decode()
    assert "Monitoring interrupted: no probe cycle completed since 2026-11-27 01:00:00 UTC." in text
    assert Incident.objects.interruptions().count() == 1
    assert "No open incidents" in text, "the interruption's record is not an incident"


def test_post_once_shows_a_per_channel_preview_then_publishes_on_confirmation(
    client, support_user, incident
):
    client.force_login(support_user)
    url = reverse("console-post-update", args=[incident.public_id])
    first = client.post(url, update_data(incident))
    assert first.status_code == 200
    text = first.content.decode()
    assert "Exactly what each audience will receive" in text
    assert 'data-channel="sms"' in text and 'data-channel="push"' in text
    assert "We found the cause: an overloaded queue." in text
    assert not incident.updates.filter(kind="update").exists()
    second = client.post(url, update_data(incident, confirm="on"))
    assert second.status_code == 302
    update = incident.updates.get(kind="update")
    assert update.author == support_user and update.status == "identified"
    assert update.next_update_by == NOW + timedelta(minutes=30)
    assert set(update.announcements.values_list("channel", "recipients")) == {
        ("push", "app_users"),
        ("push", "component_topics"),
    }
    assert AuditEvent.objects.filter(
        incident=incident, action="posted an update", actor=support_user
    ).exists()


def test_an_invalid_update_gets_field_errors_not_a_500(client, support_user, incident):
    client.force_login(support_user)
    response = client.post(
        reverse("console-post-update", args=[incident.public_id]),
        update_data(incident, body="short", status="nonsense", confirm="on"),
    )
    assert response.status_code == 400
    text = response.content.decode()
    assert "Say what is happening in at least a short sentence." in text
    assert "Select a valid choice" in text


def test_live_preview_shows_a_limit_error_per_channel(client, support_user, incident):
    from incidents.models import MessageTemplate

    MessageTemplate.objects.create(
        channel="sms", kind="update", part="body", locale="en", body="{{ update.body }}"
    )
    client.force_login(support_user)
    response = client.post(reverse("console-preview"), update_data(incident, body="á " * 400))
    text = response.content.decode()
    assert "sms body: 12 segments (UCS-2, 799 characters); the limit is 3 segments" in text


def test_a_message_over_a_limit_cannot_be_posted(client, support_user, incident):
    from incidents.models import MessageTemplate

    MessageTemplate.objects.create(
        channel="push", kind="update", part="body", locale="en", body="{{ update.body }}"
    )
    client.force_login(support_user)
    response = client.post(
        reverse("console-post-update", args=[incident.public_id]),
        update_data(incident, body="x" * 300, confirm="on"),
    )
    assert response.status_code == 400
    assert "push body: 300 characters; the limit is 240" in response.content.decode()
    assert not incident.updates.filter(kind="update").exists()


def test_hold_with_reason_and_publish_now_from_the_console(client, support_user, incident):
    client.force_login(support_user)
    client.post(reverse("console-hold", args=[incident.public_id]), {"minutes": 10, "reason": ""})
    incident.refresh_from_db()
    assert incident.held_until is None
    client.post(
        reverse("console-hold", args=[incident.public_id]),
        {"minutes": 10, "reason": "Confirming the scope first"},
    )
    incident.refresh_from_db()
    assert incident.held_until == NOW + timedelta(minutes=10)
    step = incident.policy.steps.get(recipients="subscribers", delay_seconds=600)
    client.post(reverse("console-fire-step", args=[incident.public_id, step.id]))
    assert incident.fired_steps.get(step=step).fired_by == support_user
    page = client.get(reverse("console-incident", args=[incident.public_id])).content.decode()
    assert "held public updates: Confirming the scope first" in page
    assert "held_until: – → 2026-11-27T01:10:00+00:00" in page
    assert "fired early by sam" in page


def test_staff_open_an_incident_with_preview_and_confirmation(client, support_user):
    component = make_component()
    client.force_login(support_user)
    data = {
        "name": "Alarms delayed for some followers",
        "status": "investigating",
        "impact": "major",
        "body": "Some followers receive alarms late. We are investigating.",
        "components": [component.id],
        "component_status": "partial_outage",
        "notify": "on",
        "next_update_minutes": 20,
    }
    preview = client.post(reverse("console-new-incident"), data)
    assert preview.status_code == 200 and not Incident.objects.exists()
    created = client.post(reverse("console-new-incident"), {**data, "confirm": "on"})
    incident = Incident.objects.get()
    assert created["Location"] == reverse("console-incident", args=[incident.public_id])
    assert incident.published_at == NOW and incident.updates.get().author == support_user


def test_schedule_maintenance_validates_its_window(client, support_user):
    component = make_component()
    client.force_login(support_user)
    bad = client.post(
        reverse("console-new-maintenance"),
        {
            "name": "DB upgrade",
            "components": [component.id],
            "scheduled_for": "2026-11-28T02:00",
            "scheduled_until": "2026-11-28T01:00",
            "announce_before": "60",
        },
    )
    assert bad.status_code == 400
    assert "The maintenance must end after it starts." in bad.content.decode()
    good = client.post(
        reverse("console-new-maintenance"),
        {
            "name": "DB upgrade",
            "components": [component.id],
            "scheduled_for": "2026-11-28T02:00",
            "scheduled_until": "2026-11-28T03:00",
            "announce_before": "1440, 60",
        },
    )
    assert good.status_code == 302
    window = Incident.objects.maintenance().get()
    assert window.announce_before_minutes == [1440, 60]


def test_delivery_progress_counts_the_outbox_per_update_and_channel(client, support_user, incident):
    announcement = Announcement.objects.get(channel="push", recipients="app_users")
    for n, state in enumerate(["sent", "sent", "failed", "pending"]):
        Delivery.objects.create(
            announcement=announcement,
            channel="push",
            target=f"t{n}",
            state=state,
            next_attempt_at=NOW,
            created_at=NOW,
            sent_at=NOW - timedelta(seconds=10) if state == "sent" else None,
        )
    client.force_login(support_user)
    fragment = client.get(reverse("console-progress", args=[incident.public_id])).content.decode()
    assert '<progress max="4" value="3">' in fragment
    assert "sent 2" in fragment and "failed 1" in fragment and "pending 1" in fragment
    assert "about 30 s left" in fragment  # 2 sent in the last minute: 1 left at 2/60 per second


def test_internal_updates_stay_out_of_public_json(client, down_probe, quiet_policy):
    incident = workflow.handle_verdict(down_probe, Verdict.CONFIRMED_DOWN, NOW)
    incident.published_at = NOW
    incident.save()
    assert IncidentUpdate.everything.filter(incident=incident, internal=True).exists()
    summary = client.get("/api/v2/summary.json").json()
    kinds = [u["body"] for i in summary["incidents"] for u in i["incident_updates"]]
    assert kinds and not any("Acknowledge and post an update" in body for body in kinds)


def test_staff_start_and_complete_a_maintenance_by_hand(client, support_user):
    from incidents.response import maintenance

    component = make_component()
    window = maintenance.schedule(
        "DB upgrade",
        "",
        [component],
        NOW + timedelta(hours=5),
        NOW + timedelta(hours=6),
        support_user,
        NOW,
    )
    client.force_login(support_user)
    page = client.get(reverse("console-incident", args=[window.public_id])).content.decode()
    assert "Start now" in page and "starts and completes by itself" in page
    client.post(reverse("console-maintenance-status", args=[window.public_id, "in_progress"]))
    component.refresh_from_db()
    assert component.status == "under_maintenance"
    client.post(reverse("console-maintenance-status", args=[window.public_id, "completed"]))
    window.refresh_from_db()
    component.refresh_from_db()
    assert window.status == "completed" and component.status == "operational"
    assert list(window.audit_events.values_list("action", flat=True).order_by("at", "id")) == [
        "scheduled maintenance",
        "maintenance started",
        "maintenance completed",
    ]


def test_a_template_override_that_does_not_compile_is_refused_in_the_admin(client, admin_role_user):
    client.force_login(admin_role_user)
    url = reverse("admin:incidents_messagetemplate_add")
    bad = client.post(
        url,
        {"channel": "sms", "kind": "opened", "part": "body", "locale": "en", "body": "{% if %}"},
    )
    assert bad.status_code == 200 and "Template error" in bad.content.decode()
    missing = client.post(
        url, {"channel": "pager", "kind": "opened", "part": "body", "locale": "en", "body": "hi"}
    )
    assert "There is no messages/pager/opened_body.txt to override" in missing.content.decode()
    good = client.post(
        url,
        {
            "channel": "sms",
            "kind": "opened",
            "part": "body",
            "locale": "es",
            "body": "{{ incident.name }}",
        },
    )
    assert good.status_code == 302


def test_a_postmortem_is_published_on_a_resolved_incident(client, support_user, incident, frozen):
    workflow.resolve(incident, NOW + timedelta(hours=1))
    frozen.move_to(NOW + timedelta(days=2))
    client.force_login(support_user)
    url = reverse("console-postmortem", args=[incident.public_id])
    page = client.get(reverse("console-incident", args=[incident.public_id])).content.decode()
    assert "Publish the postmortem" in page
    client.post(url, {"body": "too short"})
    incident.refresh_from_db()
    assert incident.status == "resolved"
    client.post(
        url, {"body": "A queue was undersized after the move; we doubled it and added an alarm."}
    )
    incident.refresh_from_db()
    assert incident.status == "postmortem"
    latest = incident.updates.first()
    assert latest.status == "postmortem" and not latest.deliver_notifications
    assert not latest.announcements.exists()
