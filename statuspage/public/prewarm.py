"""The answer store's housekeeping: the most-read answers renewed before readers find them
stale (an ENGINE["HOUSEKEEPING"] job, every few seconds in the engine holding the lease).

Readers render lazily too (statuspage.public.store), so this only spares the first reader
after each refresh period the render; it asks for each answer through the live views, like
the static snapshot, in every language, and an answer still in the first half of its
freshness is left as it is.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings

from statuspage.models import Audience
from statuspage.public.snapshot import site_client
from statuspage.public.store import RENEW, enabled

HOT_PATHS = ["/", "/api/v2/summary.json", "/api/v2/status.json", "/api/v1/banner.json"]


def hot_paths() -> list[str]:
    """What an outage brings the crowd to: the page, the summary, each app's banner."""
    slugs = Audience.objects.values_list("slug", flat=True)
    return HOT_PATHS + [f"/api/v1/banner.json?audience={slug}" for slug in slugs]


def refresh(now: datetime) -> int:
    """Renew the hot answers; returns how many were asked for."""
    if not enabled():
        return 0
    client, secure = site_client()
    client.defaults[RENEW] = "1"
    asked = 0
    for code, _name in settings.LANGUAGES:
        client.defaults["HTTP_ACCEPT_LANGUAGE"] = code
        for path in hot_paths():
            client.get(path, secure=secure)
            asked += 1
    return asked
