from datetime import timedelta

import pytest

from incidents.models import Action, EscalationPolicy, EscalationStep
from statuspage.models import ProbeState
from tests.clock import NOW
from tests.factories import make_component, make_probe, user_in


@pytest.fixture
def down_probe(db):
    probe = make_probe(make_component(), "http://127.0.0.1:1/health")
    probe.state = ProbeState.DOWN
    probe.first_failure_at = NOW - timedelta(seconds=20)
    probe.save()
    return probe


@pytest.fixture
def quiet_policy(db):
    """A policy that waits 5 minutes before anything public: room for a false alarm."""
    policy = EscalationPolicy.objects.create(name="Wait 5 min", priority=1)
    EscalationStep.objects.create(
        policy=policy, delay_seconds=0, action=Action.PAGE, channels=["sms"]
    )
    EscalationStep.objects.create(
        policy=policy,
        delay_seconds=300,
        action=Action.PUBLISH,
        recipients="app_users",
        channels=["page", "push"],
    )
    return policy


@pytest.fixture
def only_push_registered(db, monkeypatch):
    """A registry with only push in it, whatever other channels are installed; the default
    policy was written before, from every installed channel (as it is on a site that later
    removed some). Returns every installed channel class by name."""
    from incidents.response.policies import ensure_default_policy
    from notifiers import registry

    installed = dict(registry.registered())
    ensure_default_policy()
    push_only = {name: cls for name, cls in installed.items() if name == "push"}
    monkeypatch.setattr(registry, "_registry", push_only)
    return installed


@pytest.fixture
def support_user(db):
    return user_in("Support staff", "sam", is_staff=True)


@pytest.fixture
def admin_role_user(db):
    return user_in("Admins", "ada", is_staff=True)


@pytest.fixture
def outsider(db):
    return user_in("", "olive")
