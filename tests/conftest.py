"""Network off by default: every provider SDK talks to the loopback provider sandbox.

Any attempt to connect beyond the loopback interface fails the test at once.
"""

from __future__ import annotations

import ipaddress
import os
import socket

import pytest
import requests

from notifiers.channels.push import forget_apps
from notifiers.sandbox.server import SandboxServer

# Playwright's sync API runs an event loop in the test thread; the ORM calls tests make
# around it are still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

_real_connect = socket.socket.connect


def _loopback_only(sock: socket.socket, address) -> None:
    if sock.family in (socket.AF_INET, socket.AF_INET6):
        host = address[0]
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = host == "localhost"
        if not loopback:
            raise ConnectionRefusedError(f"tests may not reach {host}: only loopback is allowed")
    return _real_connect(sock, address)


@pytest.fixture(autouse=True, scope="session")
def no_network():
    socket.socket.connect = _loopback_only
    yield
    socket.socket.connect = _real_connect


@pytest.fixture(autouse=True)
def default_language():
    """A request in Spanish leaves Spanish active in this thread (LocaleMiddleware never resets
    it); each test starts in the default language."""
    from django.utils import translation

    translation.deactivate()
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def fresh_limits():
    """Login and abuse counters live in the shared "limits" cache: each test starts with none."""
    from django.conf import settings
    from django.core.cache import caches

    caches[settings.LIMITS_CACHE].clear()
    yield


@pytest.fixture(autouse=True)
def fresh_monitoring_state():
    """The web process caches the engine's state for a moment; each test starts without it."""
    from statuspage.picture.monitoring import forget

    forget()
    yield
    forget()


@pytest.fixture(autouse=True)
def empty_redis_broker(settings):
    """Tasks an earlier test queued on Redis outlive its database: left there, they would
    read as a stalled queue (notifiers.delivery.queue_health) in a later test's alerts.
    The ORM broker's rows go with each test's transaction."""
    if settings.Q_CLUSTER.get("redis"):
        from tests.tasks import purge_queued_tasks

        purge_queued_tasks()


@pytest.fixture(autouse=True)
def empty_answer_store(settings, tmp_path):
    """Each test starts with an empty answer store of its own (statuspage.public.store): its
    own directory on the file store, its own key prefix on Redis (never FLUSHDB: the store
    may share its database with the django-q2 broker)."""
    answers = dict(settings.CACHES["answers"])
    if answers["BACKEND"].endswith("FileBasedCache"):
        answers["LOCATION"] = str(tmp_path / "answers")
    else:
        answers["KEY_PREFIX"] = f"test-answers-{tmp_path.name}-{os.getpid()}-{id(tmp_path)}"
    settings.CACHES = {**settings.CACHES, "answers": answers}
    # Nothing to clean up after: the keys are this test's own and expire by themselves. A
    # teardown reaching Redis would also meet whatever the test monkeypatched (socket
    # lookups in the SSRF tests) when that is undone after this fixture.


@pytest.fixture
def task_queue(transactional_db):
    """The real django-q2 broker, emptied first; call it to run what is queued."""
    from tests.tasks import purge_queued_tasks, run_queued_tasks

    purge_queued_tasks()
    yield run_queued_tasks
    purge_queued_tasks()


@pytest.fixture(scope="session")
def sandbox_server():
    with SandboxServer(port=0) as server:
        yield server


@pytest.fixture(autouse=True)
def sandbox(sandbox_server, settings, tmp_path):
    """Point every SDK at a clean sandbox for each test."""
    settings.SANDBOX_URL = sandbox_server.url
    settings.VAR_DIR = tmp_path
    # The sandbox's webhook receivers are on loopback, which webhooks are otherwise refused.
    settings.NOTIFIERS = {
        **settings.NOTIFIERS,
        "WEBHOOK_ALLOWED_NETWORKS": ["127.0.0.0/8", "::1/128"],
    }
    sandbox_server.recorder.clear()
    sandbox_server.faults.clear()
    requests.delete(f"{sandbox_server.url}/_sandbox/fcm/topics", timeout=5)
    forget_apps()
    yield sandbox_server
    forget_apps()


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium driven by Playwright; never a downloaded browser.

    Module-scoped: Playwright's sync API keeps an event loop running in the main thread
    while it is open, which would break later tests that call asyncio.run().
    """
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context()
    page = context.new_page()
    yield page
    context.close()
