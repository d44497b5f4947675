"""The uptime bars' HTML. A page shows 90 bars per component, and on most days most
components' bars are identical (same day, same status, same uptime, no incident), so each
distinct bar is rendered once per page through its template and reused: a hundred
components cost a few hundred small renders instead of nine thousand."""

from __future__ import annotations

from django.template.loader import get_template
from django.utils.safestring import SafeString, mark_safe

from statuspage.picture.uptime import DayBar

BAR_TEMPLATE = "statuspage/_uptime_bar.html"


class BarStrips:
    """One page's renderer: a memo of the bars rendered so far, in the active language, by
    bar object (a plain day's bar is one object shared by every component) and by content."""

    def __init__(self) -> None:
        self.template = get_template(BAR_TEMPLATE)
        self.by_bar: dict[DayBar, str] = {}
        self.by_content: dict[tuple, str] = {}

    def strip(self, bars: list[DayBar]) -> SafeString:
        return mark_safe("".join([self.bar(bar) for bar in bars]))

    def bar(self, bar: DayBar) -> str:
        html = self.by_bar.get(bar)
        if html is None:
            key = (bar.label, bar.status, bar.uptime, tuple(i["name"] for i in bar.incidents))
            html = self.by_content.get(key)
            if html is None:
                html = self.by_content[key] = self.template.render({"bar": bar})
            self.by_bar[bar] = html
        return html
