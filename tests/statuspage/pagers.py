"""An on-call pager for tests: the `pager` fixture points ENGINE["ONCALL_PAGERS"] here and
hands the test the list of (state, now) it was called with."""

from __future__ import annotations

PAGES: list = []


def record_page(state, now) -> None:
    PAGES.append((state, now))
