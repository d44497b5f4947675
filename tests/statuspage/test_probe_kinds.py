"""Probe kinds own their rules: each kind's module registers its settings, their validation,
its next-run rule and its check, and `Probe` asks the registry instead of branching on kind."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import grimp
import pytest
from django.core.exceptions import ValidationError

from statuspage.checks import build_check, kind_for, registered
from statuspage.checks import registry as kinds
from statuspage.checks.heartbeat import HeartbeatCheck, next_evaluation
from statuspage.checks.registry import ProbeKind
from statuspage.models import SHARED_PROBE_SETTINGS, Probe
from statuspage.probes.agents import ASSIGNED_FIELDS, assigned_to
from tests.factories import make_component

NOW = datetime(2026, 11, 27, 1, 0, tzinfo=UTC)

# The least each kind needs to be valid.
VALID = {
    "http": {"url": "https://api.example.test/health"},
    "tcp": {"host": "mail.example.test", "port": 25},
    "dns": {"host": "example.test"},
    "heartbeat": {},
    "freshness": {
        "url": "https://api.example.test/metrics",
        "value_path": "$.age",
        "outage_above": 900,
    },
    "upstream": {"url": "https://status.provider.test/api/v2/summary.json"},
}


def test_every_probe_kind_has_a_registered_kind_and_no_other_is_registered():
    assert set(registered()) == set(Probe.Kind.values) == set(VALID)


@pytest.mark.parametrize("name", Probe.Kind.values)
def test_a_kind_declares_only_probe_fields(name):
    kind = kind_for(name)
    columns = {f.name for f in Probe._meta.get_fields()}
    assert set(kind.fields) <= columns and set(kind.readouts) <= columns
    assert set(kind.required) <= set(kind.fields)
    assert set(kind.validators) <= set(kind.fields)
    assert not set(kind.fields) & set(SHARED_PROBE_SETTINGS)


@pytest.mark.django_db
@pytest.mark.parametrize("name", Probe.Kind.values)
def test_the_least_settings_of_each_kind_are_valid(name):
    Probe(component=make_component(), name="p", kind=name, **VALID[name]).full_clean()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "field"), [(k, f) for k in Probe.Kind.values for f in kind_for(k).required]
)
def test_a_missing_required_setting_is_reported_with_its_field_name(name, field):
    settings = {k: v for k, v in VALID[name].items() if k != field}
    probe = Probe(component=make_component(), name="p", kind=name, **settings)
    with pytest.raises(ValidationError) as error:
        probe.full_clean()
    assert error.value.message_dict == {field: [f"Required for a {name} probe."]}


@pytest.mark.django_db
def test_a_setting_is_validated_by_the_kinds_that_use_it_only():
    """A status code list means nothing to a DNS probe, so it is not its rule."""
    dns = Probe(component=make_component(), name="p", kind="dns", host="example.test")
    dns.expected_codes = "not codes"
    dns.full_clean()
    http = Probe(component=dns.component, name="q", kind="http", **VALID["http"])
    http.expected_codes = "not codes"
    with pytest.raises(ValidationError) as error:
        http.full_clean()
    assert set(error.value.message_dict) == {"expected_codes"}


@pytest.mark.django_db
def test_a_heartbeat_reading_a_number_needs_a_threshold_like_a_freshness_probe():
    probe = Probe(component=make_component(), name="p", kind="heartbeat", value_path="$.age")
    with pytest.raises(ValidationError) as error:
        probe.full_clean()
    assert error.value.message_dict == {
        "outage_above": ["Give a degraded or an outage threshold for the value."]
    }


def test_a_heartbeats_next_run_comes_from_its_kind():
    settings = {"interval_seconds": 300, "grace_seconds": 60, "created_at": NOW}
    heartbeat = Probe(kind="heartbeat", last_ping_at=NOW, **settings)
    due = NOW + timedelta(seconds=300 + 60 + 1)
    assert heartbeat.next_run_after(NOW) == next_evaluation(heartbeat, NOW) == due
    http = Probe(kind="http", last_ping_at=NOW, **settings)
    assert http.next_run_after(NOW) == NOW + timedelta(seconds=300), "the interval cadence"


@pytest.mark.django_db
def test_a_heartbeat_confirms_at_once_and_is_never_assigned_to_agents():
    assert Probe(kind="heartbeat").needed(3) == 1 and Probe(kind="http").needed(3) == 3
    assert isinstance(build_check(Probe(id=7, kind="heartbeat")), HeartbeatCheck)
    component = make_component()
    regions = {"component": component, "regions": ["eu-west"]}
    Probe.objects.create(name="pipeline", kind="heartbeat", **regions)
    api = Probe.objects.create(name="api", **VALID["http"], **regions)
    assert assigned_to("eu-west") == [api]


def test_agents_are_sent_every_setting_of_every_kind_they_run():
    for name, kind in registered().items():
        if not kind.pushed:
            assert set(kind.fields) <= set(ASSIGNED_FIELDS), name


@dataclass(frozen=True)
class CanaryCheck:
    probe_id: int

    @classmethod
    def from_probe(cls, probe) -> CanaryCheck:
        return cls(probe.id)

    async def run(self, session=None) -> None:
        return None


class Canary(ProbeKind):
    """A stand-in kind registered under "http" for one test."""

    name = "http"
    check = CanaryCheck
    required = ("host",)
    fields = ("host",)

    def next_run(self, probe, now: datetime) -> datetime:
        return now + timedelta(days=1)


@pytest.mark.django_db
def test_probe_asks_the_registry_for_its_rules_schedule_and_check(monkeypatch):
    monkeypatch.setitem(kinds._registry, "http", Canary())
    probe = Probe(id=3, component=make_component(), name="p", kind="http")
    assert probe.next_run_after(NOW) == NOW + timedelta(days=1)
    assert build_check(probe) == CanaryCheck(3)
    with pytest.raises(ValidationError) as error:
        probe.full_clean()
    assert error.value.message_dict == {"host": ["Required for a http probe."]}


def test_no_check_module_imports_the_models_when_it_runs():
    graph = grimp.build_graph("statuspage", exclude_type_checking_imports=True)
    checks = graph.find_children("statuspage.checks") | {"statuspage.checks"}
    for module in checks:
        assert not graph.chain_exists(module, "statuspage.models"), module


@pytest.mark.django_db
def test_the_admin_shows_the_probes_own_kind_first_and_every_field_once(admin_client):
    probe = Probe.objects.create(
        component=make_component(), name="smtp", kind="tcp", **VALID["tcp"]
    )
    page = admin_client.get(f"/admin/statuspage/probe/{probe.id}/change/")
    fieldsets = [(f.name, f.classes, f.fields) for f in page.context["adminform"]]
    assert fieldsets[1] == ("TCP connect", "", list(kind_for("tcp").fields))
    assert all("collapse" in classes for _, classes, _ in fieldsets[2:-1])
    shown = [field for _, _, fields in fieldsets for field in fields]
    assert len(shown) == len(set(shown))
    assert set(page.context["adminform"].form.fields) <= set(shown)
