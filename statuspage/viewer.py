"""Who is reading the public picture: everyone (None), or the members of one audience's
private page.

One request reads the picture through many modules (summary, page, feeds, badges, the
banner); instead of threading an audience through each, the private page's wrapper
(statuspage.public.private) sets it for the request, and every query of the picture asks
`Component.objects.shown()` / `Incident.objects.public()`, which read it here. The default is
the public: code that never sets it can never show a private row.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.conf import settings

_AUDIENCE: ContextVar[Any | None] = ContextVar("statuspage_viewer_audience", default=None)
_PAGE_PATH: ContextVar[str] = ContextVar("statuspage_viewer_page_path", default="")


def audience() -> Any | None:
    """The Audience whose private page is being rendered, or None for the public."""
    return _AUDIENCE.get()


def page_url() -> str:
    """The address of the page being read, which every link an answer gives starts with:
    the public page's, or the private page's (its embed path included) for its readers."""
    return settings.STATUSPAGE["URL"] + _PAGE_PATH.get()


@contextmanager
def viewing(audience: Any, page_path: str = "") -> Iterator[None]:
    """Read as `audience`, on the page at `page_path` below the public address
    ("/a/<slug>" or "/a/<slug>/embed/<token>")."""
    token = _AUDIENCE.set(audience)
    path = _PAGE_PATH.set(page_path.rstrip("/"))
    try:
        yield
    finally:
        _PAGE_PATH.reset(path)
        _AUDIENCE.reset(token)
