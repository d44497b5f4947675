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

_AUDIENCE: ContextVar[Any | None] = ContextVar("statuspage_viewer_audience", default=None)


def audience() -> Any | None:
    """The Audience whose private page is being rendered, or None for the public."""
    return _AUDIENCE.get()


@contextmanager
def viewing(audience: Any) -> Iterator[None]:
    token = _AUDIENCE.set(audience)
    try:
        yield
    finally:
        _AUDIENCE.reset(token)
