"""deploy/prometheus/ as an operator uses it: the configuration and the alert rules pass
Debian's promtool (its rule unit tests included), and Debian's prometheus scrapes a running
node and answers a query for one of its metrics through its HTTP API."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
import yaml

from tests.factories import make_component, make_probe

DEPLOY = Path(__file__).resolve().parent.parent / "deploy" / "prometheus"
PROMTOOL = shutil.which("promtool")
PROMETHEUS = shutil.which("prometheus")
needs_promtool = pytest.mark.skipif(
    PROMTOOL is None, reason="promtool missing: `make prometheus` installs Debian's package"
)
needs_prometheus = pytest.mark.skipif(
    PROMETHEUS is None, reason="prometheus missing: `make prometheus` installs Debian's package"
)


def promtool(*args: str) -> subprocess.CompletedProcess:
    assert PROMTOOL is not None
    return subprocess.run([PROMTOOL, *args], cwd=DEPLOY, capture_output=True, text=True, timeout=60)


@needs_promtool
def test_the_scrape_config_is_valid():
    result = promtool("check", "config", "prometheus.yml")
    assert result.returncode == 0, result.stdout + result.stderr


@needs_promtool
def test_the_alert_rules_are_valid_and_each_has_a_summary_description_and_runbook():
    result = promtool("check", "rules", "alerts.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    rules = [
        r for g in yaml.safe_load((DEPLOY / "alerts.yml").read_text())["groups"] for r in g["rules"]
    ]
    names = {rule["alert"] for rule in rules}
    assert {
        "StatuspageEngineDead",
        "StatuspageMonitoringStopped",
        "StatuspageNoHousekeepingLeader",
        "StatuspageTaskQueueStuck",
        "StatuspageDeliveryLag",
        "StatuspageProbesUnknown",
        "StatuspageBreakerOpenLong",
    } <= names
    operations = (DEPLOY.parent.parent / "docs" / "OPERATIONS.md").read_text()
    for rule in rules:
        annotations = rule["annotations"]
        assert annotations["summary"] and annotations["description"], rule["alert"]
        assert annotations["runbook"] == f"docs/OPERATIONS.md#{rule['alert'].lower()}"
        assert f"#### {rule['alert']}\n" in operations, f"no runbook section for {rule['alert']}"


@needs_promtool
def test_the_alerts_fire_as_their_unit_tests_say():
    result = promtool("test", "rules", "alerts_test.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def query(port: int, expression: str) -> list[dict]:
    url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": expression})
    with urllib.request.urlopen(url, timeout=5) as reply:
        body = json.load(reply)
    assert body["status"] == "success", body
    return body["data"]["result"]


def poll(port: int, expression: str, deadline: float) -> list[dict]:
    """Ask until Prometheus has scraped what the expression needs (it scrapes every second)."""
    while True:
        try:
            result = query(port, expression)
        except OSError:
            result = []  # not listening yet
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.25)


@pytest.fixture
def prometheus(tmp_path, live_server):
    """Debian's prometheus on its own port and storage, scraping the live server each second
    with the project's alert rules loaded; stopped after the test."""
    assert PROMETHEUS is not None
    port = free_port()
    target = urllib.parse.urlsplit(live_server.url).netloc
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(DEPLOY / "alerts.yml")],
        "scrape_configs": [
            {
                "job_name": "statuspage",
                "static_configs": [{"targets": [target], "labels": {"node": "test"}}],
            }
        ],
    }
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    log = (tmp_path / "prometheus.log").open("w")
    process = subprocess.Popen(
        [
            PROMETHEUS,
            f"--config.file={tmp_path / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@needs_prometheus
@pytest.mark.django_db(transaction=True)
def test_prometheus_scrapes_a_running_node_and_answers_for_its_metrics(prometheus, tmp_path):
    component = make_component()
    for name in ("api", "web", "push"):
        make_probe(component, "http://127.0.0.1:1/", name=name)
    deadline = time.monotonic() + 60
    result = poll(prometheus, 'statuspage_probes_enabled{job="statuspage"}', deadline)
    assert result, (tmp_path / "prometheus.log").read_text()[-2000:]
    assert result[0]["metric"]["node"] == "test"
    assert result[0]["value"][1] == "3"
    assert poll(prometheus, 'up{job="statuspage"} == 1', deadline)
    with urllib.request.urlopen(f"http://127.0.0.1:{prometheus}/api/v1/rules", timeout=5) as reply:
        groups = json.load(reply)["data"]["groups"]
    assert {r["name"] for g in groups for r in g["rules"]} >= {"StatuspageEngineDead"}
