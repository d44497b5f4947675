"""Never silent, per probe: a probe nobody checks makes its component "status unknown".

The whole-site alarm (`monitoring`) covers every engine gone. This covers one probe: its
region's agents gone, a claim lost, an engine that skips it. `sweep` is an
ENGINE["HOUSEKEEPING"] job: it flags each probe that has had no result for two of its
intervals (`Probe.silent_since`, claimed with a conditional UPDATE so that any number of
sweepers page once), tells the ENGINE["ONCALL_PAGERS"] hooks with a `ProbeSilence`, and
clears the flag (telling them once more) when the probe is checked again. Public reads only
read the flag, folded into the query that loads the components (`with_silence`), so the
page, the v2 JSON and the badges cost no extra query; banner.json asks once (`silent_components`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db.models import Exists, OuterRef, QuerySet, Subquery
from django.utils.module_loading import import_string

from statuspage.changes import picture_changed
from statuspage.models import Component, ComponentStatus, Probe
from statuspage.picture.monitoring import monitoring_state

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProbeSilence:
    """What the ENGINE["ONCALL_PAGERS"] hooks are told about one probe (the whole site's
    state is a `MonitoringState`): it went silent (`interrupted`), or it is checked again
    (`checked_at`) or no longer expected to be (disabled, under maintenance)."""

    probe: Probe
    interrupted: bool
    since: datetime
    checked_at: datetime | None = None


# When this process began sweeping: a sweeper that just started (an engine back after a
# stop, a new leader) gives every probe two intervals to be checked before calling it silent,
# or a restart would page for every probe the stopped engine had not checked meanwhile.
_began: dict[str, datetime] = {}


def forget() -> None:
    """Start afresh, as a new process would (tests)."""
    _began.clear()


def sweep(now: datetime) -> None:
    """Flag newly silent probes and page once for each; unflag those checked again."""
    if monitoring_state().interrupted:
        return  # no engine at all: the whole-site alarm already says so, once
    began = _began.setdefault("at", now)
    for probe in Probe.overdue(now).filter(silent_since__isnull=True).select_related("component"):
        since = probe.silence_start(now)
        if since is None or now - began <= probe.silence_allowed or exempt(probe):
            continue
        if claim(probe, since):
            log.critical(
                "%s: no result since %s (interval %s s); its component shows status unknown",
                probe,
                since.isoformat(),
                probe.interval_seconds,
            )
            page(ProbeSilence(probe, True, since), now)
    for probe in Probe.objects.filter(silent_since__isnull=False).select_related("component"):
        if probe.silence_start(now) is not None and not exempt(probe):
            continue
        since = probe.silent_since
        assert since is not None  # filtered above
        if release(probe):
            checked_at = probe.last_checked_at
            again = checked_at if checked_at and checked_at > since else None
            log.warning("%s: %s", probe, "checked again" if again else "no longer watched")
            page(ProbeSilence(probe, False, since, again), now)


def page(state: ProbeSilence, now: datetime) -> None:
    """The on-call path of the whole-site alarm: each ENGINE["ONCALL_PAGERS"] hook on its own,
    one failing not stopping the others."""
    for path in settings.ENGINE["ONCALL_PAGERS"]:
        try:
            import_string(path)(state, now)
        except Exception:
            log.exception("on-call pager %s failed", path)


def exempt(probe: Probe) -> bool:
    """Maintenance makes a component's silence expected."""
    return probe.component.status == ComponentStatus.UNDER_MAINTENANCE


def claim(probe: Probe, since: datetime) -> bool:
    """Only the sweeper whose UPDATE wins pages, and only while no result arrived since the
    probe was read (a late sweeper pages nobody)."""
    won = bool(
        Probe.objects.filter(
            id=probe.id, silent_since__isnull=True, last_checked_at=probe.last_checked_at
        ).update(silent_since=since)
    )
    if won:
        picture_changed()
    return won


def release(probe: Probe) -> bool:
    won = bool(
        Probe.objects.filter(id=probe.id, silent_since=probe.silent_since).update(silent_since=None)
    )
    if won:
        picture_changed()
    return won


def silent_probes() -> QuerySet[Probe]:
    return Probe.objects.filter(enabled=True, silent_since__isnull=False)


def with_silence(components: QuerySet[Component]) -> QuerySet[Component]:
    """Each component with `silent_probe_since`, read by Component.status_unknown, in the
    same query."""
    earliest = silent_probes().filter(component=OuterRef("pk")).order_by("silent_since")
    return components.annotate(silent_probe_since=Subquery(earliest.values("silent_since")[:1]))


def silent_components(component_ids: list[int] | None = None) -> list[Component]:
    """The components whose status is unknown (of these ids, or all), in one query."""
    components = with_silence(Component.objects.shown()).filter(
        Exists(silent_probes().filter(component=OuterRef("pk")))
    )
    if component_ids is not None:
        components = components.filter(id__in=component_ids)
    return [c for c in components if c.status_unknown]
