"""`make serve` runs production from the environment: it refuses, naming each problem, when a
required variable is missing or the sandbox is configured; `runall` (what it becomes) serves
the web with gunicorn and, with --no-sandbox, neither starts the sandbox nor points the
providers at it."""

from __future__ import annotations

import importlib
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from config import gunicorn_conf
from deploy.serve import REQUIRED, problems, runall_argv
from statuspage.management.commands.runall import Command, web_command
from tests.factories import make_component
from tests.test_deploy_nginx import database_url
from tests.test_project import wait_for

ROOT = Path(__file__).resolve().parents[1]
COMPLETE = dict.fromkeys(REQUIRED, "x")


def test_make_serve_names_every_missing_variable_and_starts_nothing():
    env = {k: v for k, v in os.environ.items() if k not in REQUIRED and k != "SANDBOX_URL"}
    done = subprocess.run(
        [sys.executable, "-m", "deploy.serve"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 2
    for name in REQUIRED:
        assert f"{name} is not set" in done.stderr
    assert "Serving production" in done.stderr


def test_a_complete_environment_has_no_problems_but_the_sandbox_is_refused():
    assert problems(COMPLETE) == []
    assert problems({k: v for k, v in COMPLETE.items() if k != "REDIS_URL"}) == [
        f"  REDIS_URL is not set: {REQUIRED['REDIS_URL']}"
    ]
    assert any("SANDBOX_URL" in line for line in problems({**COMPLETE, "SANDBOX_URL": "http://x"}))


def test_serve_becomes_runall_without_demo_or_sandbox():
    argv = runall_argv("127.0.0.1", 8000, workers=3)
    assert argv[1:4] == ["manage.py", "runall", "--no-demo"]
    assert "--no-sandbox" in argv and argv[-2:] == ["--workers", "3"]


def test_the_web_part_is_gunicorn_with_the_projects_configuration():
    argv = web_command("127.0.0.1", 8123, workers=4)
    assert argv[1:3] == ["-m", "gunicorn"]
    assert "python:config.gunicorn_conf" in argv
    assert argv[argv.index("--bind") + 1] == "127.0.0.1:8123"
    assert argv[argv.index("--workers") + 1] == "4"
    assert "--workers" not in web_command("127.0.0.1", 8123)  # the config decides


def test_no_sandbox_drops_the_sandbox_part_and_its_url(monkeypatch):
    monkeypatch.delenv("SANDBOX_URL", raising=False)
    command = Command()
    parts = [c.name for c in command.children("127.0.0.1", 8000, True, "", sandbox=False)]
    assert parts == ["web", "engine", "tasks"]
    assert "SANDBOX_URL" not in command.child_env(sandbox=False)
    assert "SANDBOX_URL" in command.child_env(sandbox=True)


def test_gunicorn_workers_come_from_the_cpu_count_unless_told(monkeypatch):
    monkeypatch.setenv("WEB_WORKERS", "7")
    assert importlib.reload(gunicorn_conf).workers == 7
    monkeypatch.delenv("WEB_WORKERS")
    assert importlib.reload(gunicorn_conf).workers == 2 * (os.cpu_count() or 1) + 1


@pytest.mark.django_db(transaction=True)
def test_production_serves_the_page_and_its_hashed_static_files_once_collected(tmp_path):
    """What `make setup` and `make serve` do before gunicorn starts: collectstatic. Without
    it DEBUG=0 has no manifest and the page would be a 500."""
    make_component()
    port = int(os.environ.get("FRONT_TEST_PORT", "18210")) + 2
    own = {"DJANGO_ALLOW_ASYNC_UNSAFE", "DJANGO_SETTINGS_MODULE"}
    env = {k: v for k, v in os.environ.items() if k not in own and k != "SANDBOX_URL"}
    env.update(
        DEBUG="0",
        SECRET_KEY="a-test-secret-key-" + "x" * 40,
        ALLOWED_HOSTS="127.0.0.1",
        SECURE_SSL_REDIRECT="0",
        DATABASE_URL=database_url(),
        STATUSPAGE_VAR_DIR=str(tmp_path / "var"),
        STATIC_ROOT=str(tmp_path / "static"),
    )
    collected = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput"],
        cwd=ROOT,
        env=env,
        capture_output=True,
    )
    assert collected.returncode == 0, collected.stderr
    web = subprocess.Popen(
        web_command("127.0.0.1", port, workers=1),
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        page = wait_for(f"http://127.0.0.1:{port}/", time.monotonic() + 60).decode()
        stylesheet = re.search(r'href="(/static/statuspage/status\.[0-9a-f]{12}\.css)"', page)
        assert stylesheet, "the page links the hashed name from the manifest"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{stylesheet[1]}") as reply:
            assert reply.status == 200
            assert "immutable" in reply.headers["Cache-Control"]
    finally:
        os.killpg(web.pid, signal.SIGTERM)
        web.wait(timeout=30)
