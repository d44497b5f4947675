"""The nginx front (deploy/nginx/) with Debian's nginx on loopback and the real app under
gunicorn: it micro-caches and revalidates the public answers, and with the app stopped (or
hung past the front's timeout) the page, summary.json and banner.json still answer 200 from
the static snapshot, banner.json
turning to "status unknown" once the copy's valid_until has passed; what no copy holds is a
503, JSON for a JSON URL.

Ports: FRONT_TEST_PORT (default 18210) for nginx and the next one for the app.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.db import connection

from deploy.nginx.front import Front, FrontConfig, port_answers
from statuspage import clock
from statuspage.management.commands.runall import web_command
from statuspage.models import Audience
from statuspage.public.private import embed_path
from statuspage.public.snapshot import publish
from tests.factories import open_outage_at
from tests.statuspage.private_world import PRIVATE_NAME, private_world

ROOT = Path(__file__).resolve().parents[1]
FRONT_PORT = int(os.environ.get("FRONT_TEST_PORT", "18210"))
APP_PORT = FRONT_PORT + 1
READS = 25  # requests per answer while the app is stopped: every one must be a 200
ANSWERS = ["/", "/api/v2/summary.json", "/api/v1/banner.json"]

pytestmark = pytest.mark.django_db(transaction=True)


def get(path: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(f"http://127.0.0.1:{FRONT_PORT}{path}", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return reply.status, dict(reply.headers), reply.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def database_url() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    return f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


@pytest.fixture
def app(tmp_path):
    """The app's web process as production runs it: gunicorn, two workers."""
    own = {"DJANGO_ALLOW_ASYNC_UNSAFE", "DJANGO_SETTINGS_MODULE"}
    env = {k: v for k, v in os.environ.items() if k not in own}
    env.update(DATABASE_URL=database_url(), STATUSPAGE_VAR_DIR=str(tmp_path / "var"))
    log = (tmp_path / "app.log").open("w")
    process = subprocess.Popen(
        web_command("127.0.0.1", APP_PORT, workers=2),
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while not port_answers(f"127.0.0.1:{APP_PORT}"):
        assert process.poll() is None and time.monotonic() < deadline, tmp_path / "app.log"
        time.sleep(0.1)
    yield process
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    log.close()


@pytest.fixture
def snapshot_dir(tmp_path, settings):
    settings.STATUS_SNAPSHOT_DIR = str(tmp_path / "public")
    return tmp_path / "public"


def front_config(tmp_path: Path, snapshot_dir: Path, app_timeout: str) -> FrontConfig:
    return FrontConfig(
        listen=f"127.0.0.1:{FRONT_PORT}",
        upstream=f"127.0.0.1:{APP_PORT}",
        snapshot_dir=snapshot_dir,
        cache_dir=tmp_path / "front-cache",
        app_timeout=app_timeout,
    )


@pytest.fixture
def front(tmp_path, snapshot_dir):
    # Generous: a loaded machine's first requests are slow, and only one test breaks that.
    with Front(front_config(tmp_path, snapshot_dir, "15s"), tmp_path / "front", "1") as running:
        yield running


def stop(app: subprocess.Popen) -> None:
    app.send_signal(signal.SIGTERM)
    app.wait(timeout=30)
    assert not port_answers(f"127.0.0.1:{APP_PORT}")


@pytest.fixture
def outage(db):
    incident = open_outage_at(clock.now())
    Audience.objects.get_or_create(slug="other-app", defaults={"name": "Other app"})
    return incident


def test_the_front_caches_a_public_answer_and_answers_its_etag_with_304(app, front):
    status, first, body = get("/api/v2/status.json")
    assert status == 200 and "X-Status-Source" not in first
    status, second, again = get("/api/v2/status.json")
    assert status == 200 and second["X-Front-Cache"] == "HIT" and again == body
    assert second["ETag"] == first["ETag"] and "max-age=10" in second["Cache-Control"]
    status, headers, empty = get("/api/v2/status.json", **{"If-None-Match": first["ETag"]})
    assert (status, empty) == (304, b"")


def test_with_the_app_stopped_every_answer_comes_from_the_snapshot(
    app, front, outage, snapshot_dir
):
    publish()
    stop(app)
    for path in ANSWERS:
        replies = [get(path) for _ in range(READS)]
        assert [status for status, _, _ in replies] == [200] * READS, path
        status, headers, body = replies[-1]
        assert headers["X-Status-Source"] == "snapshot"
        if path.endswith(".json"):
            assert headers["Content-Type"].startswith("application/json")
            assert headers["Access-Control-Allow-Origin"] == "*"
    assert get("/")[2] == (snapshot_dir / "index.html").read_bytes()
    assert get("/api/v2/summary.json")[2] == (snapshot_dir / "api/v2/summary.json").read_bytes()


def test_banner_json_from_the_snapshot_is_the_audiences_own_while_valid(
    app, front, outage, snapshot_dir
):
    publish()
    stop(app)
    copy = snapshot_dir / "api/v1"
    _, _, general = get("/api/v1/banner.json")
    _, _, own = get("/api/v1/banner.json?audience=other-app")
    assert general == (copy / "banner.json").read_bytes()
    assert own == (copy / "banner.audience-other-app.json").read_bytes()
    assert json.loads(general)["status"] == "incident"
    assert json.loads(own)["status"] != "incident", "the outage is not the other app's"


def test_banner_json_says_status_unknown_once_the_snapshots_valid_until_passed(
    app, front, outage, snapshot_dir
):
    with time_machine.travel(clock.now() - timedelta(minutes=5), tick=False):
        publish()
    stop(app)
    for path in ("/api/v1/banner.json", "/api/v1/banner.json?audience=follow-app"):
        status, headers, body = get(path)
        banner = json.loads(body)
        assert status == 200, path
        assert (banner["show"], banner["status"], banner["status_unknown"]) == (
            True,
            "unknown",
            True,
        )
        assert banner["title"]


def test_what_no_copy_holds_is_a_503_json_for_json_urls_and_html_otherwise(app, front):
    stop(app)  # and no snapshot published at all
    status, headers, body = get("/api/v2/summary.json")
    assert status == 503 and headers["Content-Type"].startswith("application/json")
    assert json.loads(body)["status"] == "unknown"
    status, headers, body = get("/api/v1/banner.json?audience=follow-app")
    assert status == 503 and json.loads(body)["status"] == "unknown"
    status, headers, body = get("/incidents/nothing-here")
    assert status == 503 and headers["Content-Type"].startswith("text/html")


def test_a_hung_app_is_answered_from_the_snapshot_after_the_front_stops_waiting(
    app, tmp_path, snapshot_dir, outage
):
    publish()
    slow_front = Front(front_config(tmp_path, snapshot_dir, "1s"), tmp_path / "front", "1")
    with slow_front:
        os.killpg(app.pid, signal.SIGSTOP)  # accepts connections, answers nothing
        try:
            for path in ANSWERS:
                status, headers, body = get(path)
                assert (status, headers["X-Status-Source"]) == (200, "snapshot"), path
        finally:
            os.killpg(app.pid, signal.SIGCONT)


def test_an_audience_page_is_never_cached_nor_served_from_the_copy(
    app, front, snapshot_dir, tmp_path, settings
):
    world = private_world()
    world.audience.embed_enabled = True
    world.audience.save()
    assert get("/")[0] == 200  # the app has made its development key by now
    settings.SECRET_KEY = (tmp_path / "var" / "secret_key").read_text().strip()  # sign as it
    path = embed_path(world.audience)
    publish()
    for _ in range(2):
        status, headers, body = get(path)
        assert status == 200 and PRIVATE_NAME in body.decode()
        assert headers.get("X-Front-Cache") in (None, "BYPASS", "MISS")
        assert headers["Cache-Control"] == "private, no-store"
    status, headers, body = get("/")
    assert PRIVATE_NAME not in body.decode()
    stop(app)
    status, headers, body = get(path)
    assert status == 503 and PRIVATE_NAME not in body.decode()
