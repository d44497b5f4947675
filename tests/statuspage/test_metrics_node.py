"""One node as it runs: a real engine process and a real web process (gunicorn, two workers)
sharing one PROMETHEUS_MULTIPROC_DIR; the web process's /metrics shows what the engine counted in its
own process, beside what the database says about it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from django.db import connection
from prometheus_client.parser import text_string_to_metric_families

from statuspage.management.commands.runall import web_command
from tests.factories import make_component, make_probe
from tests.statuspage.servers import Answer

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def database_url_of_this_test() -> str:
    """The URL of the database this test runs on, for the node's processes."""
    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{settings['NAME']}"
    return f"postgres://{settings['USER']}@{settings['HOST']}:{settings['PORT']}/{settings['NAME']}"


def node_env(tmp_path: Path, multiproc_dir: Path) -> dict[str, str]:
    own = {"DJANGO_ALLOW_ASYNC_UNSAFE", "DJANGO_SETTINGS_MODULE"}
    return {
        **{k: v for k, v in os.environ.items() if k not in own},
        "DATABASE_URL": database_url_of_this_test(),
        "STATUSPAGE_VAR_DIR": str(tmp_path / "var"),
        "PROMETHEUS_MULTIPROC_DIR": str(multiproc_dir),
        "ENGINE_HEARTBEAT_SECONDS": "2",
        "PYTHONUNBUFFERED": "1",
    }


def samples_of(url: str) -> dict[str, float]:
    with urllib.request.urlopen(url, timeout=5) as reply:
        text = reply.read().decode()
    return {
        sample.name: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if not sample.labels or set(sample.labels) == {"engine"}
    }


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.mark.django_db(transaction=True)
def test_the_web_process_reports_what_the_engine_process_counted(tmp_path, web):
    web.routes["/health"] = Answer(200, "OK")
    make_probe(make_component(), f"{web.url}/health")
    multiproc_dir = tmp_path / "metrics"
    env = node_env(tmp_path, multiproc_dir)
    reset = subprocess.run(
        [sys.executable, "manage.py", "metrics_reset"], cwd=ROOT, env=env, capture_output=True
    )
    assert reset.returncode == 0 and b"wiped" in reset.stdout, reset.stderr
    port = free_port()
    logs = (tmp_path / "node.log").open("w")
    processes = [
        subprocess.Popen(argv, cwd=ROOT, env=env, stdout=logs, stderr=subprocess.STDOUT)
        for argv in (
            [sys.executable, "manage.py", "engine"],
            web_command("127.0.0.1", port, workers=2),
        )
    ]
    samples: dict[str, float] = {}
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                samples = samples_of(f"http://127.0.0.1:{port}/metrics")
            except OSError:
                samples = {}  # the web process is still starting
            if samples.get("statuspage_engine_checks_started_total", 0) >= 1 and samples.get(
                "statuspage_engines_alive"
            ):
                break
            time.sleep(0.5)
    finally:
        for process in processes:
            stop(process)
        logs.close()
    log = (tmp_path / "node.log").read_text()[-3000:]
    assert samples.get("statuspage_engine_checks_started_total", 0) >= 1, log
    assert samples["statuspage_engines_alive"] == 1, log
    assert "process_resident_memory_bytes" not in samples, "multiprocess mode, not the web's own"
    engine = processes[0]
    assert (multiproc_dir / f"counter_{engine.pid}.db").exists(), "the engine wrote its own"
