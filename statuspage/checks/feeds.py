"""Status feeds (RSS/Atom) of the common status-page products, read by their structure.

Each feed item is one incident or maintenance. Where its current status is written depends
on the product, never on words anywhere in its text (an item titled "SMS not operational"
or "Scheduled fix rolling out" is not an all-clear):

- Atlassian Statuspage, Instatus, Status.io, Better Stack: the item's HTML lists the
  updates, newest first, each led by its status in bold (`<strong>Resolved</strong> - ...`
  or `<b>Status: Resolved</b>`); the first bold status is the current one.
- incident.io: the same, or a first line `Status: Resolved` in plain text.
- Google Cloud: the entry's title is led by the status in capitals (`RESOLVED: ...`,
  `UPDATE: ...`); generic feeds often do the same (`Resolved: ...`): a title led by a known
  status name and a colon.
- AWS Health Dashboard: the title is led by a category (`Service disruption: ...`,
  `Service is operating normally: [RESOLVED] ...`), and a closed item is tagged `[RESOLVED]`.

An item whose status cannot be read is news: it counts as active while within the window.
"""

from __future__ import annotations

import calendar
import enum
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import feedparser
from django.utils.html import strip_tags


class Phase(enum.Enum):
    ACTIVE = "active"
    CLOSED = "closed"
    PLANNED = "planned"


# Every product's status names, as written in the structural place each product uses.
PHASES = {
    "investigating": Phase.ACTIVE,
    "identified": Phase.ACTIVE,
    "monitoring": Phase.ACTIVE,
    "update": Phase.ACTIVE,
    "updated": Phase.ACTIVE,
    "mitigated": Phase.ACTIVE,
    "degraded": Phase.ACTIVE,
    "degraded performance": Phase.ACTIVE,
    "partial outage": Phase.ACTIVE,
    "full outage": Phase.ACTIVE,
    "major outage": Phase.ACTIVE,
    "downtime": Phase.ACTIVE,
    "in progress": Phase.ACTIVE,
    "maintenance in progress": Phase.ACTIVE,
    "verifying": Phase.ACTIVE,
    "resolved": Phase.CLOSED,
    "postmortem": Phase.CLOSED,
    "completed": Phase.CLOSED,
    "maintenance completed": Phase.CLOSED,
    "maintenance complete": Phase.CLOSED,
    "scheduled": Phase.PLANNED,
    "scheduled maintenance": Phase.PLANNED,
    "maintenance scheduled": Phase.PLANNED,
    "notscheduled": Phase.PLANNED,
}
BOLD = re.compile(r"<(strong|b)\b[^>]*>(.*?)</\1>", re.IGNORECASE | re.DOTALL)
STATUS_LINE = re.compile(r"^\s*status\s*:\s*([a-z ]+?)\s*(?:$|[.\-–—])", re.IGNORECASE)
STATUS_PREFIX = re.compile(r"^([A-Za-z][A-Za-z ]{2,30}):\s")
AWS_CATEGORY = re.compile(
    r"^(Service is operating normally|Informational message|Performance issues|"
    r"Service disruption|Service impact)\s*:",
)
AWS_RESOLVED = "[RESOLVED]"
MAX_REPORT = 300


@dataclass(frozen=True)
class Item:
    title: str
    phase: Phase
    when: datetime | None


def plain(text: str) -> str:
    return " ".join(strip_tags(text or "").split())[:MAX_REPORT]


def phase_of(label: str) -> Phase | None:
    label = " ".join(label.lower().replace("status:", "").split()).strip(" -–—:.")
    return PHASES.get(label)


def title_phase(title: str) -> Phase | None:
    """Google Cloud's, AWS's and generic feeds': a known status leads the title."""
    aws = AWS_CATEGORY.match(title)
    if aws:
        closed = aws.group(1) == "Service is operating normally" or AWS_RESOLVED in title
        return Phase.CLOSED if closed else Phase.ACTIVE
    if AWS_RESOLVED in title:
        return Phase.CLOSED
    prefix = STATUS_PREFIX.match(title)
    return phase_of(prefix.group(1)) if prefix else None


def body_phase(html: str) -> Phase | None:
    """Statuspage's and the others': the first bold status of the newest update, or a
    first line `Status: X`."""
    for match in BOLD.finditer(html or ""):
        phase = phase_of(strip_tags(match.group(2)))
        if phase is not None:
            return phase
    first_line = strip_tags((html or "").replace("<br", "\n<br")).strip().split("\n", 1)[0]
    line = STATUS_LINE.match(first_line)
    return phase_of(line.group(1)) if line else None


def entry_body(entry) -> str:
    contents = entry.get("content") or []
    return " ".join(c.get("value", "") for c in contents) or entry.get("summary", "")


def latest_stamp(entry):
    """When the item last changed: Atom's updated, else its published (RSS's pubDate), read
    from the entry's own keys (feedparser's fallback between the two warns)."""
    keys = dict.keys(entry)
    for key in ("updated_parsed", "published_parsed"):
        if key in keys and entry[key]:
            return entry[key]
    return None


def items(text: str) -> list[Item]:
    result = []
    for entry in feedparser.parse(text).entries:
        title = plain(entry.get("title", ""))
        phase = title_phase(title) or body_phase(entry_body(entry)) or Phase.ACTIVE
        stamp = latest_stamp(entry)
        when = datetime.fromtimestamp(calendar.timegm(stamp), UTC) if stamp else None
        result.append(Item(title, phase, when))
    return result


def active_report(text: str, window: timedelta, now: datetime) -> str:
    """The title of the newest active item changed within the window, or ''."""
    recent = [i for i in items(text) if i.when is not None and now - i.when <= window]
    active = [i for i in recent if i.phase is Phase.ACTIVE]
    if not active:
        return ""
    newest = max(active, key=lambda item: item.when or now)
    return newest.title
