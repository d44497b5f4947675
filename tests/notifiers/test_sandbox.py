"""The provider sandbox, driven by the real firebase-admin SDK over loopback HTTP.

No Django and no database: the module starts its own sandbox on an ephemeral port and
empties it before each test.

firebase-admin retries 500/503 up to 4 times with 0, 1, 2 and 4 s of backoff, so an
outage answered with 503 costs every send about 7 s. The fault tests stay fast and exact
by using ``fail_next`` (the first retry has no backoff), 4xx/429 answers, and dropped
connections (one immediate retry, then UnavailableError).
"""

from __future__ import annotations

import asyncio
import base64
import ipaddress
import json
import socket
import stat
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import firebase_admin
import google.auth.exceptions
import google.auth.transport.requests
import pytest
import requests
from firebase_admin import credentials, exceptions, messaging
from google.oauth2 import service_account as service_account_credentials

from notifiers.sandbox.faults import FaultProfile
from notifiers.sandbox.fcm import JWT_BEARER_GRANT
from notifiers.sandbox.firebase import point_messaging_at, write_service_account
from notifiers.sandbox.server import SandboxServer
from tests.clock import NOW

PROJECT = "sandbox-test"
SEND_PATH = f"/v1/projects/{PROJECT}/messages:send"


@pytest.fixture(autouse=True)
def loopback_lookups_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Record name lookups beyond loopback, including the SDKs' background threads'."""
    real_getaddrinfo = socket.getaddrinfo
    outside: list[str] = []

    def guarded(host: Any, *args: Any, **kwargs: Any) -> Any:
        if not _is_loopback(host):
            outside.append(str(host))
            raise socket.gaierror(f"the sandbox tests may not resolve {host}")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", guarded)
    yield outside
    assert outside == []


def _is_loopback(host: Any) -> bool:
    host = host.decode() if isinstance(host, bytes) else str(host)
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


@pytest.fixture(scope="module")
def running_server() -> Iterator[SandboxServer]:
    with SandboxServer(port=0) as running:
        yield running


@pytest.fixture
def server(running_server: SandboxServer) -> SandboxServer:
    """The module's sandbox, emptied of messages, faults and counters for each test."""
    running_server.recorder.clear()
    running_server.faults.clear()
    return running_server


@pytest.fixture(scope="module")
def service_account(
    running_server: SandboxServer, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """Module-wide: generating the RSA key is the slowest step of a test."""
    directory = tmp_path_factory.mktemp("firebase")
    return write_service_account(directory / "service-account.json", running_server.url, PROJECT)


@pytest.fixture
def app(server: SandboxServer, service_account: Path) -> Iterator[firebase_admin.App]:
    firebase = firebase_admin.initialize_app(
        credentials.Certificate(str(service_account)),
        options={"projectId": PROJECT},
        name=f"sandbox-test-{uuid.uuid4().hex}",
    )
    point_messaging_at(firebase, server.url)
    yield firebase
    firebase_admin.delete_app(firebase)


def alert(
    topic: str = "status-updates", title: str = "Degraded", body: str = "API slow"
) -> messaging.Message:
    return messaging.Message(
        topic=topic, notification=messaging.Notification(title=title, body=body)
    )


def access_token(service_account: Path) -> str:
    """An access token from the sandbox, fetched by google-auth as firebase-admin does."""
    return credentials.Certificate(str(service_account)).get_access_token().access_token


# Delivering through the real SDK


def test_send_to_a_topic_is_recorded(server: SandboxServer, app: firebase_admin.App) -> None:
    message = messaging.Message(
        topic="status-updates",
        notification=messaging.Notification(title="Degraded performance", body="API is slow"),
        data={"incident_id": "inc_1"},
    )

    name = messaging.send(message, app=app)

    [record] = server.recorder.list(provider="fcm")
    assert name == f"projects/{PROJECT}/messages/{record['id']}"
    assert record["kind"] == "push"
    assert record["target"] == "/topics/status-updates"
    assert record["payload"]["message"]["topic"] == "status-updates"
    assert record["payload"]["message"]["notification"] == {
        "title": "Degraded performance",
        "body": "API is slow",
    }
    assert record["payload"]["message"]["data"] == {"incident_id": "inc_1"}
    assert record["preview"] == {"title": "Degraded performance", "body": "API is slow"}
    assert record["received_at"].endswith("+00:00")


def test_send_each_records_every_message(server: SandboxServer, app: firebase_admin.App) -> None:
    batch = [alert("eu", title="EU"), alert("us", title="US"), alert("apac", title="APAC")]

    response = messaging.send_each(batch, app=app)

    assert response.success_count == 3
    received = {r["target"]: r["preview"]["title"] for r in server.recorder.list()}
    assert received == {"/topics/eu": "EU", "/topics/us": "US", "/topics/apac": "APAC"}


def test_send_each_async_uses_the_same_sandbox(
    server: SandboxServer, service_account: Path
) -> None:
    firebase = firebase_admin.initialize_app(
        credentials.Certificate(str(service_account)),
        options={"projectId": PROJECT},
        name=f"sandbox-test-{uuid.uuid4().hex}",
    )
    point_messaging_at(firebase, server.url)

    response = asyncio.run(messaging.send_each_async([alert("eu"), alert("us")], app=firebase))

    assert response.success_count == 2
    assert sorted(r["target"] for r in server.recorder.list()) == ["/topics/eu", "/topics/us"]
    # firebase-admin 7.7 closes its httpx client with a new asyncio.run(), but the pooled
    # connection belongs to the loop that just ended: delete_app unregisters, then raises.
    with pytest.raises(RuntimeError, match="Event loop is closed"):
        firebase_admin.delete_app(firebase)


def test_dry_run_validates_without_delivering(
    server: SandboxServer, app: firebase_admin.App
) -> None:
    name = messaging.send(alert(), dry_run=True, app=app)

    assert name == f"projects/{PROJECT}/messages/fake_message_id"
    assert server.recorder.list() == []


def test_unregistered_token_raises_unregistered_error(
    server: SandboxServer, app: firebase_admin.App
) -> None:
    with pytest.warns(DeprecationWarning, match="token is deprecated"):
        message = messaging.Message(token="unregistered-phone-1")

    with pytest.raises(messaging.UnregisteredError):
        messaging.send(message, app=app)
    assert server.recorder.list() == []


def test_send_each_reports_unregistered_installations_per_message(
    server: SandboxServer, app: firebase_admin.App
) -> None:
    batch = [messaging.Message(fid="unregistered-fid"), messaging.Message(fid="fid-1")]

    response = messaging.send_each(batch, app=app)

    gone, delivered = response.responses
    assert isinstance(gone.exception, messaging.UnregisteredError)
    assert delivered.success
    assert [r["target"] for r in server.recorder.list()] == ["fid-1"]


def test_sdk_fetches_a_new_token_when_the_sandbox_forgets_it(
    server: SandboxServer, app: firebase_admin.App
) -> None:
    messaging.send(alert(), app=app)

    requests.delete(f"{server.url}/_sandbox/google/tokens", timeout=5).raise_for_status()
    messaging.send(alert(), app=app)

    assert len(server.recorder.list()) == 2
    assert server.faults.snapshot()["stats"]["google_oauth"]["requests"] == 2


# Authentication


def test_send_without_a_bearer_token_gets_401(server: SandboxServer) -> None:
    response = requests.post(server.url + SEND_PATH, json={"message": {"topic": "t"}}, timeout=5)

    assert response.status_code == 401
    assert response.json()["error"]["status"] == "UNAUTHENTICATED"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert server.recorder.list() == []


def test_send_with_a_token_the_sandbox_did_not_issue_gets_401(server: SandboxServer) -> None:
    response = requests.post(
        server.url + SEND_PATH,
        json={"message": {"topic": "t"}},
        headers={"Authorization": "Bearer ya29.forged"},
        timeout=5,
    )

    assert response.status_code == 401
    assert response.json()["error"]["code"] == 401


def test_token_endpoint_issues_bearer_tokens(service_account: Path) -> None:
    assert access_token(service_account).startswith("ya29.")


def test_token_without_a_messaging_scope_gets_403(
    server: SandboxServer, service_account: Path
) -> None:
    credential = service_account_credentials.Credentials.from_service_account_file(
        str(service_account), scopes=["https://www.googleapis.com/auth/userinfo.email"]
    )
    credential.refresh(google.auth.transport.requests.Request())

    response = requests.post(
        server.url + SEND_PATH,
        json={"message": {"topic": "t"}},
        headers={"Authorization": f"Bearer {credential.token}"},
        timeout=5,
    )

    assert response.status_code == 403
    assert response.json()["error"]["status"] == "PERMISSION_DENIED"


NOW_SECONDS = int(NOW.timestamp())  # the notifier tests' clock (conftest: starting_at_now)
VALID_CLAIMS = {
    "iss": "a@b.c",
    "aud": "x",
    "scope": "s",
    "iat": NOW_SECONDS,
    "exp": NOW_SECONDS + 3600,
}


def jwt_grant(**overrides: Any) -> dict[str, str]:
    """A jwt-bearer form with an unsigned assertion; an override of None drops that claim."""
    claims = {k: v for k, v in {**VALID_CLAIMS, **overrides}.items() if v is not None}

    def segment(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    assertion = f"{segment({'alg': 'RS256', 'typ': 'JWT'})}.{segment(claims)}.c2ln"
    return {"grant_type": JWT_BEARER_GRANT, "assertion": assertion}


def test_token_endpoint_accepts_an_unsigned_but_well_formed_assertion(
    server: SandboxServer,
) -> None:
    response = requests.post(f"{server.url}/token", data=jwt_grant(), timeout=5)

    assert response.status_code == 200
    assert response.json()["expires_in"] == 3600
    assert response.json()["token_type"] == "Bearer"


@pytest.mark.parametrize(
    ("form", "error"),
    [
        ({"grant_type": JWT_BEARER_GRANT, "assertion": "not-a-jwt"}, "invalid_grant"),
        ({"grant_type": JWT_BEARER_GRANT, "assertion": "a.b.c"}, "invalid_grant"),
        ({"grant_type": JWT_BEARER_GRANT}, "invalid_request"),
        ({"grant_type": "password", "assertion": "a.b.c"}, "unsupported_grant_type"),
        ({}, "invalid_request"),
        (jwt_grant(iat=None, exp=None), "invalid_grant"),
        (jwt_grant(iat=NOW_SECONDS - 4000, exp=NOW_SECONDS - 400), "invalid_grant"),
        (jwt_grant(exp=NOW_SECONDS + 7200), "invalid_grant"),
        (jwt_grant(scope=None), "invalid_scope"),
    ],
)
def test_token_endpoint_rejects_malformed_requests(
    server: SandboxServer, form: dict[str, str], error: str
) -> None:
    response = requests.post(f"{server.url}/token", data=form, timeout=5)

    assert response.status_code == 400
    assert response.json()["error"] == error
    assert response.json()["error_description"]


# Validation of what the SDK cannot check itself


@pytest.mark.parametrize(
    "body",
    [
        {"message": {"topic": "a", "token": "b"}},
        {"message": {"notification": {"title": "no target"}}},
        {"message": {"topic": "a", "data": {"count": 3}}},
        {"message": {"topic": "not a topic!"}},
        {"message": {"topic": "a", "priority": "high"}},
        {"message": {"topic": "a"}, "extra": True},
        {"topic": "a"},
    ],
)
def test_invalid_messages_are_rejected_like_fcm(
    server: SandboxServer, service_account: Path, body: dict[str, Any]
) -> None:
    response = requests.post(
        server.url + SEND_PATH,
        json=body,
        headers={"Authorization": f"Bearer {access_token(service_account)}"},
        timeout=5,
    )

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["status"] == "INVALID_ARGUMENT"
    assert error["details"][0]["errorCode"] == "INVALID_ARGUMENT"
    assert server.recorder.list() == []


# Fault injection


def set_faults(server: SandboxServer, **profile: Any) -> dict[str, Any]:
    response = requests.post(f"{server.url}/_sandbox/faults", json=profile, timeout=5)
    response.raise_for_status()
    return response.json()


def fcm_stats(server: SandboxServer) -> dict[str, int]:
    return server.faults.snapshot()["stats"]["fcm"]


def test_outage_makes_send_raise_unavailable(
    server: SandboxServer, app: firebase_admin.App
) -> None:
    set_faults(server, provider="fcm", outage=True, disconnect=True)

    with pytest.raises(exceptions.UnavailableError):
        messaging.send(alert(), app=app)

    assert server.recorder.list() == []
    assert fcm_stats(server) == {"requests": 2, "injected": 2}


def test_outage_ends_when_faults_are_deleted(
    server: SandboxServer, app: firebase_admin.App
) -> None:
    set_faults(server, provider="fcm", outage=True, disconnect=True)
    with pytest.raises(exceptions.UnavailableError):
        messaging.send(alert(), app=app)

    requests.delete(f"{server.url}/_sandbox/faults", timeout=5).raise_for_status()

    messaging.send(alert(), app=app)
    assert len(server.recorder.list()) == 1


def test_token_endpoint_failures_are_not_firebase_errors(
    server: SandboxServer, app: firebase_admin.App
) -> None:
    """firebase-admin lets google-auth's refresh errors through send(); send_each wraps them."""
    set_faults(server, provider="*", outage=True, error_status=400)

    with pytest.raises(google.auth.exceptions.RefreshError):
        messaging.send(alert(), app=app)
    with pytest.raises(exceptions.UnknownError):
        messaging.send_each([alert()], app=app)

    assert "fcm" not in server.faults.snapshot()["stats"]


def test_one_503_is_retried_by_the_sdk(server: SandboxServer, app: firebase_admin.App) -> None:
    server.faults.set("fcm", FaultProfile(fail_next=1, error_status=503))

    messaging.send(alert(), app=app)

    assert len(server.recorder.list()) == 1
    assert fcm_stats(server) == {"requests": 2, "injected": 1}


def test_429_without_retry_after_raises_quota_exceeded(
    server: SandboxServer, app: firebase_admin.App
) -> None:
    server.faults.set("fcm", FaultProfile(fail_next=1, error_status=429))

    with pytest.raises(messaging.QuotaExceededError) as raised:
        messaging.send(alert(), app=app)

    assert raised.value.http_response.status_code == 429
    assert fcm_stats(server) == {"requests": 1, "injected": 1}


def test_429_with_retry_after_is_retried_by_the_sdk(
    server: SandboxServer, app: firebase_admin.App
) -> None:
    """urllib3 retries any 429 carrying Retry-After, sleeping that long (here 0 s)."""
    server.faults.set("fcm", FaultProfile(fail_next=1, error_status=429, retry_after=0))

    messaging.send(alert(), app=app)

    assert fcm_stats(server) == {"requests": 2, "injected": 1}


def test_injected_429_carries_retry_after(server: SandboxServer) -> None:
    set_faults(server, provider="fcm", fail_next=1, error_status=429, retry_after=30)

    response = requests.post(server.url + SEND_PATH, json={}, timeout=5)

    assert response.status_code == 429
    assert response.headers["Retry-After"] == "30"
    assert response.json()["error"]["details"][0]["errorCode"] == "QUOTA_EXCEEDED"


def test_error_rate_one_fails_every_request(server: SandboxServer, app: firebase_admin.App) -> None:
    server.faults.set("fcm", FaultProfile(error_rate=1.0, error_status=400))

    response = messaging.send_each([alert("a"), alert("b")], app=app)

    assert response.failure_count == 2
    errors = [r.exception for r in response.responses]
    assert all(isinstance(error, exceptions.InvalidArgumentError) for error in errors)


def test_seeded_error_rate_is_reproducible(server: SandboxServer) -> None:
    def outcomes() -> list[bool]:
        server.faults.set("fcm", FaultProfile(error_rate=0.5, seed=7))
        return [server.faults.decide("fcm").status is not None for _ in range(20)]

    first = outcomes()
    assert first == outcomes()
    assert True in first and False in first


def test_latency_delays_the_answer(server: SandboxServer, app: firebase_admin.App) -> None:
    server.faults.set("fcm", FaultProfile(latency_ms=150))
    started = time.monotonic()

    messaging.send(alert(), app=app)

    assert time.monotonic() - started >= 0.15


def test_fault_api_validates_and_reports_profiles(server: SandboxServer) -> None:
    bad = requests.post(
        f"{server.url}/_sandbox/faults", json={"provider": "fcm", "lag": 5}, timeout=5
    )
    missing_provider = requests.post(f"{server.url}/_sandbox/faults", json={}, timeout=5)
    out_of_range = requests.post(
        f"{server.url}/_sandbox/faults", json={"provider": "fcm", "error_rate": 2}, timeout=5
    )

    assert [bad.status_code, missing_provider.status_code, out_of_range.status_code] == [400] * 3
    profiles = set_faults(server, provider="fcm", fail_next=3)["profiles"]
    assert profiles["fcm"]["fail_next"] == 3
    assert requests.get(f"{server.url}/_sandbox/faults", timeout=5).json() == {
        "profiles": profiles,
        "stats": {},
    }


# The sandbox's own API and page


def test_messages_api_lists_filters_and_clears(
    server: SandboxServer, app: firebase_admin.App
) -> None:
    messaging.send_each([alert("eu"), alert("us")], app=app)

    listed = requests.get(f"{server.url}/_sandbox/messages?provider=fcm", timeout=5).json()
    other = requests.get(f"{server.url}/_sandbox/messages?provider=twilio", timeout=5).json()
    requests.delete(f"{server.url}/_sandbox/messages", timeout=5).raise_for_status()

    assert sorted(r["target"] for r in listed) == ["/topics/eu", "/topics/us"]
    assert other == []
    assert server.recorder.list() == []


def test_page_shows_each_topic_newest_first_and_escapes_text(
    server: SandboxServer, app: firebase_admin.App
) -> None:
    messaging.send(alert("eu", title="first"), app=app)
    messaging.send(alert("eu", title="<script>alert(1)</script>"), app=app)

    response = requests.get(server.url, timeout=5)

    page = response.text
    assert response.headers["Content-Type"].startswith("text/html")
    assert "<title>Provider sandbox</title>" in page
    assert 'http-equiv="refresh"' in page
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert page.index("&lt;script&gt;") < page.index("first")
    assert "/topics/eu" in page


# The server and the service-account seam


def test_server_binds_loopback_and_stops(tmp_path: Path) -> None:
    server = SandboxServer(port=0).start()
    url = server.url
    assert url.startswith("http://127.0.0.1:")
    assert requests.get(f"{url}/_sandbox/health", timeout=5).json() == {"status": "ok"}

    server.stop()
    server.stop()

    with pytest.raises(requests.ConnectionError):
        requests.get(f"{url}/_sandbox/health", timeout=5)


def test_server_reports_a_busy_port(server: SandboxServer) -> None:
    with pytest.raises(OSError):
        SandboxServer(port=server.port).start()


def test_service_account_is_written_once_per_endpoint(tmp_path: Path) -> None:
    path = tmp_path / "var" / "service-account.json"

    write_service_account(path, "http://127.0.0.1:9/", PROJECT)
    first = path.read_text()
    write_service_account(path, "http://127.0.0.1:9", PROJECT)
    unchanged = path.read_text()
    write_service_account(path, "http://127.0.0.1:10", PROJECT)

    info = json.loads(path.read_text())
    assert unchanged == first
    assert info["token_uri"] == "http://127.0.0.1:10/token"
    assert info["private_key"] != json.loads(first)["private_key"]
    assert info["type"] == "service_account"
    assert info["project_id"] == PROJECT
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["service-account.json"]
