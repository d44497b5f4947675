"""A complete static copy of the public site, so it survives an outage of the app itself.

Every page, JSON endpoint, feed, badge and asset is rendered through the live views (so the
copy is identical in content to the live site) into a fresh directory; STATUS_SNAPSHOT_DIR is
then switched to it in one atomic rename of a symlink, so a web server or CDN serving it never
sees a half-written copy. JSON files carry `generated_at`, so readers can tell how old the
copy is; banner.json's `valid_until` makes the widget say "status unknown" once a copy is
stale. Pages are written as <path>/index.html, which any static server serves for <path>.

For a front that serves the copy (deploy/nginx/), banner.json is also written per audience
(`api/v1/banner.audience-<slug>.json`, what `?audience=<slug>` answers) and in its "status
unknown" form (`api/v1/banner.unknown.json`), which the front answers once the copy's own
banner.json is past its `valid_until`.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.staticfiles import finders
from django.contrib.staticfiles.storage import staticfiles_storage
from django.db import connections
from django.db.models import Count, Max
from django.test import Client

from incidents.models import Incident, IncidentUpdate
from statuspage import clock
from statuspage.models import Audience, Component, Probe
from statuspage.picture.monitoring import MonitoringState
from statuspage.picture.serializers import stamp
from statuspage.public.api import V2_BODIES, banner_payload
from statuspage.public.badges import badge_paths
from statuspage.public.feeds import component_feed_paths
from statuspage.public.http import encode

log = logging.getLogger(__name__)

PUBLISH_AT_LEAST_EVERY = timedelta(seconds=60)
KEEP_VERSIONS = 2
STATIC_PREFIX = "statuspage/"


class SnapshotError(RuntimeError):
    pass


def public_paths() -> Iterator[str]:
    """Every public URL the copy holds."""
    yield from ["/", "/history", "/history.rss", "/history.atom", "/widget/banner.js"]
    yield from ["/api/v1/banner.json", "/api/openapi.json"]
    yield from (f"/api/v2/{name}.json" for name in V2_BODIES)
    for public_id in (
        Incident.objects.public().order_by("-created_at").values_list("public_id", flat=True)[:50]
    ):
        yield f"/incidents/{public_id}"
    yield from badge_paths()
    yield from component_feed_paths()


def banner_variants() -> Iterator[tuple[str, str]]:
    """(URL, file) of banner.json for each audience, written beside banner.json."""
    for slug in Audience.objects.order_by("slug").values_list("slug", flat=True):
        yield f"/api/v1/banner.json?audience={slug}", f"api/v1/banner.audience-{slug}.json"


def unknown_banner(generated_at: datetime) -> bytes:
    """banner.json saying "status unknown", for a front to answer once the copy is stale."""
    payload = banner_payload(None, generated_at, MonitoringState(interrupted=True))
    payload["generated_at"] = stamp(generated_at)
    return encode(payload)


def file_for(path: str) -> str:
    """Where a URL path lives in the copy: extension-less pages become <path>/index.html."""
    relative = path.strip("/")
    if not relative:
        return "index.html"
    if "." in relative.rsplit("/", 1)[-1]:
        return relative
    return f"{relative}/index.html"


def site_client() -> tuple[Client, bool]:
    url = urlsplit(settings.STATUSPAGE["URL"])
    return Client(HTTP_HOST=url.netloc or "localhost"), url.scheme == "https"


def stamped(body: bytes, generated_at: datetime) -> bytes:
    payload = json.loads(body)
    payload["generated_at"] = stamp(generated_at)
    return json.dumps(payload, ensure_ascii=False).encode()


def render_into(target: Path, generated_at: datetime) -> int:
    client, secure = site_client()
    files = [(path, file_for(path)) for path in dict.fromkeys(public_paths())]
    for url, name in [*files, *banner_variants()]:
        response = client.get(url, secure=secure)
        if response.status_code != 200:
            raise SnapshotError(f"{url} answered {response.status_code}; snapshot not published")
        body = response.content
        if url.startswith(("/api/v1/", "/api/v2/")):
            body = stamped(body, generated_at)
        write(target / name, body)
    write(target / "api/v1/banner.unknown.json", unknown_banner(generated_at))
    return len(files) + copy_assets(target)


def copy_assets(target: Path) -> int:
    """Our own static files, under the names the pages link to."""
    copied = 0
    for finder in finders.get_finders():
        for relative, storage in finder.list(["*.map"]):
            if not relative.startswith(STATIC_PREFIX):
                continue
            url_path = urlsplit(staticfiles_storage.url(relative)).path
            with storage.open(relative) as source:
                write(target / url_path.lstrip("/"), source.read())
            copied += 1
    return copied


def write(path: Path, body: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(body)


def publish(directory: Path | str | None = None, now: datetime | None = None) -> Path:
    """Render the whole public site into a new version and switch `directory` to it."""
    link = Path(directory or settings.STATUS_SNAPSHOT_DIR)
    if not str(link):
        raise SnapshotError("STATUS_SNAPSHOT_DIR is not set.")
    if link.exists() and not link.is_symlink():
        raise SnapshotError(
            f"{link} is a real directory; the snapshot keeps it a symlink so it can switch "
            "versions atomically. Remove it (or choose another path) and publish again."
        )
    now = now or clock.now()
    versions = link.parent / f".{link.name}.versions"
    version = versions / now.strftime("%Y%m%dT%H%M%S%fZ")
    building = versions / f".building-{os.getpid()}-{version.name}"
    shutil.rmtree(building, ignore_errors=True)
    try:
        render_into(building, now)
        building.rename(version)
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise
    swap = link.parent / f".{link.name}.swap-{os.getpid()}"
    swap.unlink(missing_ok=True)
    swap.symlink_to(version.relative_to(link.parent))
    os.replace(swap, link)
    prune(versions, keep=version)
    return version


def prune(versions: Path, keep: Path) -> None:
    finished = sorted(p for p in versions.iterdir() if not p.name.startswith("."))
    for old in finished[:-KEEP_VERSIONS]:
        if old != keep:
            shutil.rmtree(old, ignore_errors=True)


def republish_every() -> timedelta:
    """Often enough that the copy's banner.json is renewed well before its valid_until, or
    apps reading the copy would flash "status unknown" while all is well; at least a minute."""
    half_ttl = timedelta(seconds=settings.STATUSPAGE["BANNER_TTL_SECONDS"] / 2)
    return min(PUBLISH_AT_LEAST_EVERY, half_ttl)


def fingerprint() -> tuple:
    """Cheap marker of anything public having changed (a component or an incident made
    private leaves the public counts)."""
    return (
        Component.objects.shown().aggregate(n=Count("id"), at=Max("updated_at")),
        Incident.objects.public().aggregate(n=Count("id"), at=Max("updated_at")),
        IncidentUpdate.objects.aggregate(n=Count("id"), at=Max("updated_at")),
        Probe.objects.filter(silent_since__isnull=False).aggregate(
            n=Count("id"), at=Max("silent_since")
        ),
    )


@dataclass
class Publisher:
    """Housekeeping: publish when anything public changed, and at least every minute.

    With `background`, the rendering (seconds for a large page) runs on its own thread so the
    engine's loop goes on recording probe results meanwhile; one publication at a time.
    """

    background: bool = False
    last_at: datetime | None = None
    last_print: tuple | None = None
    running: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, now: datetime) -> bool:
        if not settings.STATUS_SNAPSHOT_DIR:
            return False
        current = fingerprint()
        due = self.last_at is None or now - self.last_at >= republish_every()
        if not due and current == self.last_print:
            return False
        if not self.running.acquire(blocking=False):
            return False
        self.last_at, self.last_print = now, current
        if self.background:
            threading.Thread(target=self.publish, args=(now,), daemon=True).start()
        else:
            self.publish(now)
        return True

    def publish(self, now: datetime) -> None:
        try:
            publish(now=now)
        except Exception:
            self.last_at = None
            log.exception("publishing the static snapshot failed; retrying on the next run")
        finally:
            if self.background:
                connections.close_all()
            self.running.release()


publish_if_due = Publisher(background=True)
