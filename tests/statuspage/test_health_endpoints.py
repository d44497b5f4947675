"""/healthz (the process answers) and /readyz (the database and the broker answer), as a
load balancer or a supervisor reads them."""

from __future__ import annotations

import socket

import dj_database_url
import pytest
from django.db import connections


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_healthz_answers_without_touching_the_database(client):
    # No django_db mark: pytest-django fails any database access in this test.
    reply = client.get("/healthz")
    assert reply.status_code == 200
    assert reply.content == b"ok\n"
    assert "no-cache" in reply["Cache-Control"]


@pytest.mark.django_db
def test_readyz_says_ready_when_the_database_and_broker_answer(client, settings):
    reply = client.get("/readyz")
    assert reply.status_code == 200
    body = reply.json()
    assert body["status"] == "ready" and body["failed"] == []
    assert body["checks"]["database:default"] == "ok"
    broker = "broker:redis" if settings.Q_CLUSTER.get("redis") else "broker:orm:default"
    assert body["checks"][broker] == "ok"


@pytest.fixture
def database_down():
    """New connections to the default database go to a port where no PostgreSQL listens
    (the test's own open connection stays as it is)."""
    url = f"postgres://postgres@127.0.0.1:{closed_port()}/statuspage?connect_timeout=2"
    configured = connections.configure_settings({"default": dj_database_url.parse(url)})
    real = connections.settings["default"]
    connections.settings["default"] = configured["default"]
    yield
    connections.settings["default"] = real


@pytest.mark.django_db
def test_readyz_fails_naming_the_database_that_does_not_answer(client, database_down, settings):
    reply = client.get("/readyz")
    assert reply.status_code == 503
    body = reply.json()
    assert body["status"] == "unavailable"
    assert "database:default" in body["failed"]
    assert "OperationalError" in body["checks"]["database:default"]
    if settings.Q_CLUSTER.get("redis"):
        assert body["checks"]["broker:redis"] == "ok"
    else:  # the ORM broker lives in that database
        assert "broker:orm:default" in body["failed"]


@pytest.mark.django_db
def test_readyz_fails_naming_the_broker_when_redis_does_not_answer(client, settings):
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "redis": f"redis://127.0.0.1:{closed_port()}/0"}
    reply = client.get("/readyz")
    assert reply.status_code == 503
    body = reply.json()
    assert body["failed"] == ["broker:redis"]
    assert "ConnectionError" in body["checks"]["broker:redis"]


@pytest.mark.django_db
def test_the_endpoints_need_no_login_session_or_csrf_token(client):
    for path in ("/healthz", "/readyz", "/metrics"):
        reply = client.get(path, REMOTE_ADDR="127.0.0.1")
        assert reply.status_code == 200, path
        assert "sessionid" not in reply.cookies and "csrftoken" not in reply.cookies
    assert client.post("/readyz").status_code == 405
