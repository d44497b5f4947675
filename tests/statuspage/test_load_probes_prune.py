"""`load_probes --prune` removes the probes a file no longer names; `--dry-run` says what
would go and changes nothing."""

import pytest
from django.core.management import call_command

from statuspage.models import Probe
from tests.clock import NOW
from tests.statuspage.test_load_probes import GOOD, write

pytestmark = pytest.mark.django_db

WITHOUT_PIPELINE = GOOD.replace(
    """      - name: readings pipeline
        kind: heartbeat
        interval_seconds: 300
        grace_seconds: 120
""",
    "",
)


@pytest.fixture(autouse=True)
def audience():
    from statuspage.models import Audience

    Audience.objects.create(slug="follow-app", name="Follow app", push_topic="follow-app-status")


def test_a_probe_dropped_from_the_file_stays_without_prune(tmp_path, capsys):
    call_command("load_probes", str(write(tmp_path, GOOD)))
    call_command("load_probes", str(write(tmp_path, WITHOUT_PIPELINE)))
    assert Probe.objects.filter(name="readings pipeline").exists()


def test_prune_removes_the_probes_the_file_no_longer_names(tmp_path, capsys):
    call_command("load_probes", str(write(tmp_path, GOOD)))
    capsys.readouterr()
    call_command("load_probes", str(write(tmp_path, WITHOUT_PIPELINE)), "--prune")
    out = capsys.readouterr().out
    assert "pruned 1" in out and "removed Follow app alerts: readings pipeline" in out
    assert sorted(Probe.objects.values_list("name", flat=True)) == ["api health", "ingest port"]


def test_dry_run_says_what_would_go_and_changes_nothing(tmp_path, capsys):
    call_command("load_probes", str(write(tmp_path, GOOD)))
    capsys.readouterr()
    edited = WITHOUT_PIPELINE.replace("interval_seconds: 30", "interval_seconds: 60")
    call_command("load_probes", str(write(tmp_path, edited)), "--prune", "--dry-run")
    out = capsys.readouterr().out
    assert out.startswith("dry run, nothing changed: would be created 0, would be updated 1")
    assert "would remove Follow app alerts: readings pipeline" in out
    assert Probe.objects.count() == 3
    assert Probe.objects.get(name="api health").interval_seconds == 30


def test_pruning_a_probe_with_an_open_incident_says_it_needs_a_person(tmp_path, capsys):
    call_command("load_probes", str(write(tmp_path, GOOD)))
    extra = Probe.objects.create(
        component=Probe.objects.get(name="ingest port").component,
        name="old",
        port=1,
        kind="tcp",
        host="127.0.0.1",
    )
    extra.incidents.create(
        name="old down", started_at=NOW, detected_at=NOW, created_at=NOW, updated_at=NOW
    )
    call_command("load_probes", str(write(tmp_path, GOOD)), "--prune")
    out = capsys.readouterr().out
    assert "removed Share upload: old" in out
    assert "Share upload: old has an open incident: resolve it in the console" in out
