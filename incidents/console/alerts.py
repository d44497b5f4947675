"""What staff should see but the public should not: the console's alerts about our own
monitoring (interrupted, a dead engine among live ones, a stalled task queue, SMS sign-up
paused by its hourly budget, probes nobody checks, regions that stopped reporting, flapping
probes, a region that alone sees an outage, warnings) and messages that failed for good (per
update and channel, with their text)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q

from incidents.console.failures import failed_channels
from incidents.messages import overrides_for, render_message
from notifiers.delivery.queue_health import queue_health
from notifiers.ratelimit import SMS_SCOPE, SMS_SITE, destination_spent
from statuspage import clock
from statuspage.models import Probe, ProbeState, RegionState
from statuspage.picture.monitoring import dead_engines, monitoring_state
from statuspage.picture.silence import silent_probes


@dataclass(frozen=True)
class StaffAlert:
    kind: str
    message: str
    since: datetime | None = None
    probe_id: int | None = None
    component_id: int | None = None


def staff_alerts() -> list[StaffAlert]:
    """What staff should see but the public should not, for the console, in a fixed number
    of queries: the engine's state, the task queue's, message overrides, silent probes and
    regions, probes, lonely regions."""
    overrides = overrides_for("staff")

    def render(kind: str, context: dict) -> str:
        return render_message("staff", kind, context, overrides=overrides)

    alerts = []
    state = monitoring_state()
    if state.interrupted:
        alerts.append(
            StaffAlert(
                "monitoring_interrupted",
                render("monitoring_interrupted", {"state": state}),
                state.since,
            )
        )
    for engine in dead_engines(clock.now()):
        alerts.append(
            StaffAlert(
                "engine_dead", render("engine_dead", {"engine": engine}), engine.last_beat_at
            )
        )
    queue = queue_health()
    if queue.stalled:
        since = queue.alarm_raised_at or (
            clock.now() - timedelta(seconds=queue.oldest_age_seconds or 0)
        )
        alerts.append(
            StaffAlert("queue_stalled", render("queue_stalled", {"health": queue}), since)
        )
    alerts += silence_alerts(render)
    sms_paused = destination_spent(SMS_SCOPE, SMS_SITE, clock.now())
    if sms_paused is not None:
        budget = settings.RATE_LIMITS[SMS_SCOPE]["PER_DESTINATION"]
        alerts.append(
            StaffAlert("sms_paused", render("sms_paused", {"budget": budget}), sms_paused)
        )
    alerts += [
        StaffAlert("delivery_failed", render("delivery_failed", {"failure": f}), f.at)
        for f in failed_channels(clock.now())
    ]
    probes = list(
        Probe.objects.filter(enabled=True)
        .filter(Q(flapping_since__isnull=False) | ~Q(last_warning=""))
        .select_related("component")
    )
    for probe in probes:
        if probe.flapping_since is None:
            continue
        context = {
            "probe": probe,
            "changes": len(probe.transitions),
            "window_minutes": probe.flap_window_seconds // 60,
        }
        alerts.append(
            StaffAlert(
                "flapping",
                render("flapping", context),
                probe.flapping_since,
                probe.id,
                probe.component_id,
            )
        )
    lonely = (
        RegionState.objects.filter(state=ProbeState.DOWN, probe__enabled=True)
        .exclude(probe__state=ProbeState.DOWN)
        .select_related("probe__component")
    )
    for region in lonely:
        alerts.append(
            StaffAlert(
                "region",
                render("region", {"state": region}),
                region.since,
                region.probe_id,
                region.probe.component_id,
            )
        )
    for probe in probes:
        if probe.last_warning:
            alerts.append(
                StaffAlert(
                    "warning",
                    render("warning", {"probe": probe}),
                    probe.last_checked_at,
                    probe.id,
                    probe.component_id,
                )
            )
    return alerts


def silence_alerts(render) -> list[StaffAlert]:
    """Probes nobody checks (flagged by statuspage.picture.silence), then each region of a
    multi-region probe whose agent has not reported for two of the probe's intervals."""
    alerts = [
        StaffAlert(
            "probe_silent",
            render("probe_silent", {"probe": probe}),
            probe.silent_since,
            probe.id,
            probe.component_id,
        )
        for probe in silent_probes().select_related("component")
    ]
    now = clock.now()
    regional = list(
        Probe.objects.filter(enabled=True).exclude(regions=[]).select_related("component")
    )
    reports: dict[tuple[int, str], datetime | None] = {
        (probe_id, region): at
        for probe_id, region, at in RegionState.objects.filter(
            probe__in=[p.id for p in regional]
        ).values_list("probe_id", "region", "last_checked_at")
    }
    for probe in regional:
        for region in probe.regions:
            last = reports.get((probe.id, region))
            if probe.region_is_live(last, now):
                continue
            context = {"probe": probe, "region": region, "last_report": last}
            alerts.append(
                StaffAlert(
                    "region_silent",
                    render("region_silent", context),
                    last or probe.created_at,
                    probe.id,
                    probe.component_id,
                )
            )
    return alerts
