"""The project as an operator meets it: settings from the environment, migrations, commands."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.core.management import call_command

ROOT = Path(__file__).resolve().parent.parent

PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": "x" * 64 + "-production-secret-from-the-environment",
    "ALLOWED_HOSTS": "status.example.org",
}


def operator_env(**env: str) -> dict[str, str]:
    """The environment an operator's shell would have: none of the test run's own switches."""
    own = {"DEBUG", "SECRET_KEY", "DJANGO_ALLOW_ASYNC_UNSAFE", "DJANGO_SETTINGS_MODULE"}
    return {**{k: v for k, v in os.environ.items() if k not in own}, **env}


def manage(*args: str, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=operator_env(**env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_production_settings_pass_the_deploy_check(tmp_path):
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        env={**PRODUCTION, "STATUSPAGE_VAR_DIR": str(tmp_path)},
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    env = {**PRODUCTION, "STATUSPAGE_VAR_DIR": str(tmp_path)}
    del env["SECRET_KEY"]
    result = manage("check", env=env)
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in result.stderr


def test_development_generates_its_secret_key_once(tmp_path):
    env = {"DEBUG": "1", "STATUSPAGE_VAR_DIR": str(tmp_path)}
    assert manage("check", env=env).returncode == 0
    key = (tmp_path / "secret_key").read_text()
    assert manage("check", env=env).returncode == 0
    assert (tmp_path / "secret_key").read_text() == key
    assert len(key) >= 50


@pytest.mark.django_db
def test_models_and_migrations_agree():
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, deadline: float) -> bytes:
    """Poll a starting server until it answers (not a clock wait: it ends when it answers)."""
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as reply:
                return reply.read()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_make_run_stack_starts_serves_and_stops_cleanly_on_sigterm(tmp_path):
    ports = {name: str(free_port()) for name in ("PORT", "SANDBOX_PORT", "DEMO_SERVICE_PORT")}
    env = {
        **ports,
        "STATUSPAGE_VAR_DIR": str(tmp_path),
        "DATABASE_URL": "",
        "REDIS_URL": "",
        "DEBUG": "1",
    }
    for step in (("migrate", "--noinput"), ("demo", "setup"), ("demo", "setup")):
        result = manage(*step, env=env, timeout=120)
        assert result.returncode == 0, result.stderr
    stack = subprocess.Popen(
        [sys.executable, "manage.py", "runall", "--port", ports["PORT"]],
        cwd=ROOT,
        env=operator_env(**env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        summary = wait_for(f"http://127.0.0.1:{ports['PORT']}/api/v2/summary.json", deadline)
        assert b"Follow app alerts" in summary
        wait_for(f"http://127.0.0.1:{ports['SANDBOX_PORT']}/_sandbox/health", deadline)
        assert b'"status": "ok"' in wait_for(
            f"http://127.0.0.1:{ports['DEMO_SERVICE_PORT']}/health", deadline
        )
        stack.send_signal(signal.SIGTERM)
        output = stack.communicate(timeout=30)[0].decode()
    finally:
        if stack.poll() is None:
            os.killpg(stack.pid, signal.SIGKILL)
    assert stack.returncode == 0
    assert "everything stopped" in output
    assert f"Status page     http://127.0.0.1:{ports['PORT']}/" in output
    assert "manage.py demo break" in output


def test_the_web_process_hands_forwarded_hops_to_django(tmp_path):
    """Waitress drops X-Forwarded-For by default; then TRUSTED_PROXIES could never find the
    client and /metrics could not tell a proxied scrape (it would answer the internet)."""
    port = str(free_port())
    env = {"PORT": port, "STATUSPAGE_VAR_DIR": str(tmp_path), "DATABASE_URL": "", "REDIS_URL": ""}
    assert manage("migrate", "--noinput", env=env, timeout=120).returncode == 0
    web = subprocess.Popen(
        [sys.executable, "manage.py", "runall", "--only", "web", "--port", port],
        cwd=ROOT,
        env=operator_env(**env),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        metrics = f"http://127.0.0.1:{port}/metrics"
        wait_for(metrics, time.monotonic() + 60)
        proxied = urllib.request.Request(metrics, headers={"X-Forwarded-For": "203.0.113.5"})
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(proxied, timeout=10)
        assert refused.value.code == 403
    finally:
        os.killpg(web.pid, signal.SIGTERM)
        web.wait(timeout=30)
