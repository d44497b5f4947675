"""Configuration as code: `manage.py load_probes FILE.yaml` is idempotent, and an invalid
file is refused with its line and field named, changing nothing."""

import textwrap

import pytest
from django.core.management import CommandError, call_command

from statuspage.models import Audience, Component, Probe

pytestmark = pytest.mark.django_db

GOOD = """\
components:
  - name: Follow app alerts
    group: Cloud
    advice: Check glucose with a meter.
    audiences: [follow-app]
    probes:
      - name: api health
        url: https://follow.example.test/health
        interval_seconds: 30
        expected_codes: "200-299"
        json_check: "$.queue.depth < 1000"
        degraded_latency_ms: 800
      - name: readings pipeline
        kind: heartbeat
        interval_seconds: 300
        grace_seconds: 120
  - name: Share upload
    probes:
      - name: ingest port
        kind: tcp
        host: ingest.example.test
        port: 443
"""


def write(tmp_path, text: str):
    path = tmp_path / "probes.yaml"
    path.write_text(textwrap.dedent(text))
    return path


@pytest.fixture(autouse=True)
def audience():
    Audience.objects.create(slug="follow-app", name="Follow app", push_topic="follow-app-status")


def load(path, capsys) -> str:
    call_command("load_probes", str(path))
    return capsys.readouterr().out


def test_loading_creates_components_and_probes_and_prints_ping_urls(tmp_path, capsys):
    out = load(write(tmp_path, GOOD), capsys)
    assert out.startswith("created 5, updated 0, unchanged 0")
    follow = Component.objects.get(name="Follow app alerts")
    assert follow.group.name == "Cloud" and [a.slug for a in follow.audiences.all()] == [
        "follow-app"
    ]
    api = Probe.objects.get(name="api health")
    assert (api.kind, api.interval_seconds, api.json_check) == ("http", 30, "$.queue.depth < 1000")
    heartbeat = Probe.objects.get(name="readings pipeline")
    assert f"/ping/{heartbeat.ping_key}" in out
    assert Probe.objects.get(name="ingest port").port == 443


def test_loading_the_same_file_twice_changes_nothing(tmp_path, capsys):
    path = write(tmp_path, GOOD)
    load(path, capsys)
    key = Probe.objects.get(name="readings pipeline").ping_key
    out = load(path, capsys)
    assert out.startswith("created 0, updated 0, unchanged 5")
    assert Probe.objects.count() == 3 and Component.objects.count() == 2
    assert Probe.objects.get(name="readings pipeline").ping_key == key, "ping URLs stay valid"


def test_an_edited_value_updates_in_place(tmp_path, capsys):
    load(write(tmp_path, GOOD), capsys)
    probe_id = Probe.objects.get(name="api health").id
    out = load(
        write(tmp_path, GOOD.replace("interval_seconds: 30\n", "interval_seconds: 60\n")), capsys
    )
    assert out.startswith("created 0, updated 1, unchanged 4")
    assert Probe.objects.get(id=probe_id).interval_seconds == 60


def refused(tmp_path, text: str) -> str:
    with pytest.raises(CommandError) as error:
        call_command("load_probes", str(write(tmp_path, text)))
    return str(error.value)


def test_an_invalid_value_names_line_and_field_and_changes_nothing(tmp_path):
    message = refused(tmp_path, GOOD.replace("interval_seconds: 30\n", "interval_seconds: 5\n"))
    assert message.startswith("nothing was changed:")
    assert "probes.yaml:9: components[0].probes[0].interval_seconds: " in message
    assert "greater than or equal to 10" in message
    assert Component.objects.count() == 0 and Probe.objects.count() == 0


def test_every_problem_is_listed(tmp_path):
    bad = GOOD.replace("port: 443", "port: https").replace("kind: heartbeat", "kind: ping")
    bad = bad.replace("grace_seconds: 120", "grace_seconds: 120\n        colour: red")
    message = refused(tmp_path, bad)
    assert (
        "probes.yaml:14: components[0].probes[1].kind: Value 'ping' is not a valid choice."
        in message
    )
    assert "probes.yaml:17: components[0].probes[1].colour: unknown field" in message
    assert "probes.yaml:23: components[1].probes[0].port: " in message


def test_probe_specific_rules_are_checked(tmp_path):
    message = refused(tmp_path, GOOD.replace('"$.queue.depth < 1000"', '"queue < 1000"'))
    assert "probes.yaml:11: components[0].probes[0].json_check: Write it as a path" in message


def test_unknown_audience_is_refused(tmp_path):
    message = refused(tmp_path, GOOD.replace("[follow-app]", "[follow-app, pager-app]"))
    assert "probes.yaml:5: components[0].audiences: unknown audience(s): pager-app" in message


def test_a_file_that_is_not_yaml_says_where(tmp_path):
    message = refused(tmp_path, "components:\n  - name: x\n    advice: : :\n  - name: y\n")
    assert "probes.yaml:3: file: not valid YAML: " in message


def test_a_file_without_components_is_refused(tmp_path):
    assert "expected a top-level 'components:' list" in refused(tmp_path, "probes: []\n")


def test_the_documented_example_loads(tmp_path, capsys):
    from pathlib import Path

    doc = (Path(__file__).parents[2] / "docs" / "ARCHITECTURE-probes.md").read_text()
    example = doc.split("```yaml\n", 1)[1].split("```", 1)[0]
    out = load(write(tmp_path, example), capsys)
    assert out.startswith("created 5, updated 0, unchanged 0")
    assert Probe.objects.get(name="Push provider").regions == ["eu-west", "us-east"]


def test_regions_must_be_a_list_of_names(tmp_path):
    bad = GOOD.replace("        port: 443\n", "        port: 443\n        regions: eu west\n")
    assert "components[1].probes[0].regions: A list of region names" in refused(tmp_path, bad)


def test_a_heartbeat_schedule_carries_its_time_zone(tmp_path, capsys):
    zoned = GOOD.replace(
        "        interval_seconds: 300\n",
        '        schedule: "0 9 * * 1-5"\n        tz: America/New_York\n',
    )
    load(write(tmp_path, zoned), capsys)
    assert Probe.objects.get(name="readings pipeline").tz == "America/New_York"
    message = refused(tmp_path, zoned.replace("America/New_York", "America/NewYork"))
    assert (
        "probes.yaml:16: components[0].probes[1].tz: 'America/NewYork' is not an IANA time "
        "zone name (such as 'UTC' or 'Europe/Berlin'). Did you mean 'America/New_York'?"
    ) in message


def test_a_setting_of_another_kind_is_refused_naming_the_kinds_own(tmp_path):
    bad = GOOD.replace(
        "        port: 443\n", '        port: 443\n        json_check: "$.ok == true"\n'
    )
    message = refused(tmp_path, bad)
    assert (
        "probes.yaml:23: components[1].probes[0].json_check: not a setting of a tcp probe "
        "(its own: host, port, body, body_contains, body_regex)"
    ) in message
    assert Probe.objects.count() == 0


def test_only_heartbeats_get_a_ping_url_printed(tmp_path, capsys):
    out = load(write(tmp_path, GOOD), capsys)
    pings = [line for line in out.splitlines() if "/ping/" in line]
    key = Probe.objects.get(name="readings pipeline").ping_key
    assert len(pings) == 1 and pings[0].startswith("heartbeat Follow app alerts: readings")
    assert pings[0].endswith(f"/ping/{key}")
