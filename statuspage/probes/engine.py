"""The engine: a long-lived loop that runs due probes on their own intervals.

django-q2's scheduler wakes about every 30 s, too coarse for 10 s probes, so probes run
here (as Healthchecks runs `sendalerts`): claim due probes with a conditional UPDATE, run
their checks concurrently on one aiohttp session, store each result and let the workflow
act on confirmed verdicts. Network work never holds a database transaction; database work
runs on one thread (sync_to_async), which suits SQLite's single writer.

Several engines may run on one database: each claims probes with FOR UPDATE SKIP LOCKED
(PostgreSQL) so a probe is checked by one of them, and only the holder of the housekeeping
`Lease` runs the singleton jobs (roll-ups, snapshot, the clock, retry sweeps).
"""

from __future__ import annotations

import asyncio
import copy
import logging
import os
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import close_old_connections, connection, connections, transaction
from django.db.models import Q
from django.utils import translation
from django.utils.module_loading import import_string

from incidents.response.maintenance import components_under_maintenance
from incidents.response.workflow import handle_verdict
from notifiers.registry import registered as load_channels
from statuspage import clock, instruments
from statuspage.checks import Check, build_check, heartbeat
from statuspage.checks.http import new_session
from statuspage.models import (
    CheckOutcome,
    EngineNode,
    Lease,
    Probe,
    ProbeState,
    RegionState,
    Verdict,
)
from statuspage.picture import monitoring
from statuspage.probes import bulk

log = logging.getLogger(__name__)

HOUSEKEEPING_EVERY_SECONDS = 5.0
SLIP_WINDOW = 10_000


# What judging a result reads and writes; the rest of a probe is how to run its check.
# Loading only what each step reads spares the hot path decoding fields it never uses.
VERDICT_FIELDS = [
    "id",
    "component_id",
    "name",
    "kind",
    "regions",
    "outage_status",
    "failures_to_confirm",
    "successes_to_confirm",
    "flap_threshold",
    "flap_window_seconds",
    "state",
    "consecutive_failures",
    "consecutive_successes",
    "first_failure_at",
    "last_checked_at",
    "last_warning",
    "failure_status",
    "evidence",
    "transitions",
    "flapping_since",
    "reported",
]
VERDICT_ONLY_FIELDS = [
    "evidence",
    "transitions",
    "last_warning",
    "failure_status",
    "flapping_since",
    "reported",
    "first_failure_at",
    "consecutive_failures",
    "consecutive_successes",
    "last_checked_at",
    "state",
]


def due_probes(now: datetime):
    """The due probes, locked for this claim where the database can skip rows that another
    engine's claim holds (PostgreSQL): a row is read, moved on and run by one engine only.
    Under READ COMMITTED the conditional UPDATE alone does not do it: both engines compute
    the same next time from the same row, so both would see "their" value there. SQLite
    needs no lock: its IMMEDIATE transactions run one claim at a time."""
    due = (
        Probe.objects.filter(enabled=True)
        .filter(Q(next_run_at__isnull=True) | Q(next_run_at__lte=now))
        .defer(*VERDICT_ONLY_FIELDS)
        .order_by()  # the default ordering joins the component, which is not ours to lock
    )
    if connection.features.has_select_for_update_skip_locked:
        due = due.select_for_update(skip_locked=True)
    return due


def claim_due_checks(
    now: datetime, slips: list[float] | None = None, limit: int | None = None
) -> list[Check]:
    """Move each due probe's next_run_at forward; only the worker whose UPDATE wins runs it.

    `slips` collects how late each claimed probe is against its schedule, in seconds.
    `limit` claims only the most overdue ones: a saturated engine leaves the rest to others.
    """
    due = due_probes(now)
    if limit is not None:
        due = due.order_by("next_run_at")[:limit]
    claimed = []
    region = settings.ENGINE["REGION"]
    with transaction.atomic():  # one commit for the whole claim, not one per probe
        probes = list(due)
        won = bulk.claim(probes, [p.next_run_after(now) for p in probes])
        for probe in probes:
            if probe.id not in won or (probe.regions and region not in probe.regions):
                continue  # another worker has it, or its regions' agents check it
            claimed.append(build_check(probe))
            if slips is not None and probe.next_run_at is not None:
                slips.append((now - probe.next_run_at).total_seconds())
    return claimed


RECORDED_FIELDS = [
    "state",
    "consecutive_failures",
    "consecutive_successes",
    "first_failure_at",
    "last_checked_at",
    "last_warning",
    "failure_status",
    "evidence",
    "transitions",
    "flapping_since",
    "reported",
]


def record_outcome(probe_id: int, outcome: CheckOutcome | None, checked_at: datetime) -> str:
    """Store the result, update the probe's counts, and act on a confirmed verdict.

    A None outcome means "judge the probe from its row": heartbeats, whose state is the
    pings already received, evaluated under the same lock a concurrent ping would take.
    """
    with transaction.atomic():
        probe = Probe.objects.select_for_update().select_related("component").get(id=probe_id)
        if probe.regions and outcome is not None:
            return apply_region_vote(probe, settings.ENGINE["REGION"], outcome, checked_at)
        if outcome is None:
            outcome = heartbeat.evaluate(probe, checked_at)
        if outcome is None:
            return Verdict.NONE
        return apply_and_store(probe, outcome, checked_at)


def under_maintenance(probe: Probe, now: datetime) -> bool:
    """Maintenance windows suppress alarms."""
    return probe.component_id in components_under_maintenance([probe.component_id], now)


def record_region_outcome(
    probe_id: int, region: str, outcome: CheckOutcome, checked_at: datetime
) -> str:
    """A result from one region (an agent, or this engine if it has a region)."""
    with transaction.atomic():
        probe = Probe.objects.select_for_update().select_related("component").get(id=probe_id)
        return apply_region_vote(probe, region, outcome, checked_at)


def apply_region_vote(
    probe: Probe, region: str, outcome: CheckOutcome, checked_at: datetime
) -> str:
    """Update that region's confirmed view, then the probe's from all regions' views."""
    state, _ = RegionState.objects.select_for_update().get_or_create(probe=probe, region=region)
    state.probe = probe
    state.count(outcome, checked_at)
    state.save()
    down = list(
        RegionState.objects.filter(
            probe=probe, region__in=probe.regions, state=ProbeState.DOWN
        ).values_list("region", flat=True)
    )
    store_result(probe, outcome, checked_at, region)
    verdict = probe.apply_region_votes(
        outcome, checked_at, down, under_maintenance(probe, checked_at)
    )
    return save_and_act(probe, verdict, checked_at)


def store_result(
    probe: Probe, outcome: CheckOutcome, checked_at: datetime, region: str = ""
) -> None:
    bulk.insert_results([(probe.id, region, checked_at, outcome)])


def save_and_act(probe: Probe, verdict: str, checked_at: datetime) -> str:
    probe.save(update_fields=RECORDED_FIELDS)
    if verdict:
        act_on(probe, verdict, checked_at)
    return verdict


# Set when a verdict was acted on, so the loop runs housekeeping (the escalation clock's
# T+0 publish) at once instead of up to HOUSEKEEPING_EVERY_SECONDS later.
verdict_acted = threading.Event()


def act_on(probe: Probe, verdict: str, checked_at: datetime) -> None:
    """Hand a verdict to the workflow; a failure there must not lose the batch's results."""
    log.info("%s: %s", probe, verdict)
    verdict_acted.set()
    try:
        with transaction.atomic():
            handle_verdict(probe, verdict, checked_at)
    except Exception:
        log.exception("acting on %s for %s failed", verdict, probe)


def apply_and_store(probe: Probe, outcome: CheckOutcome, checked_at: datetime) -> str:
    """The part of recording that needs the probe row locked by the caller."""
    store_result(probe, outcome, checked_at)
    verdict = probe.apply_outcome(outcome, checked_at, under_maintenance(probe, checked_at))
    return save_and_act(probe, verdict, checked_at)


def record_batch(batch: list[tuple[int, CheckOutcome | None, datetime]]) -> int:
    """Record many results in one transaction: one commit, one bulk insert. The engine
    calls this a few times a second with whatever finished since the last call."""
    plain = [(pid, outcome, at) for pid, outcome, at in batch if outcome is not None]
    special: list[tuple[int, CheckOutcome | None, datetime]] = [
        (pid, outcome, at) for pid, outcome, at in batch if outcome is None
    ]
    with transaction.atomic():
        # Lock in id order (no default ordering, whose joins PostgreSQL cannot lock).
        probes = (
            Probe.objects.select_for_update(of=("self",))
            .order_by("id")
            .only(*VERDICT_FIELDS)
            .in_bulk(sorted({pid for pid, _, _ in plain}))
        )
        maintained = maintenance_by_time(probes.values(), {at for _, _, at in plain})
        rows, acted = [], []
        for probe_id, outcome, checked_at in sorted(plain, key=lambda r: r[2]):
            probe = probes.get(probe_id)
            if probe is None:
                continue  # deleted while its check ran
            if probe.regions:
                special.append((probe_id, outcome, checked_at))
                continue
            rows.append((probe_id, "", checked_at, outcome))
            before = recorded_values(probe)
            suppressed = probe.component_id in maintained[checked_at]
            verdict = probe.apply_outcome(outcome, checked_at, suppressed)
            acted.append((probe, before, verdict, checked_at))
        bulk.insert_results(rows)
        bulk.save_changed([(probe, before) for probe, before, _, _ in acted], RECORDED_FIELDS)
        for probe, _, verdict, checked_at in acted:
            if verdict:
                act_on(probe, verdict, checked_at)
    for probe_id, maybe_outcome, checked_at in special:
        record_outcome(probe_id, maybe_outcome, checked_at)
    return len(batch)


def recorded_values(probe: Probe) -> tuple:
    """The probe's RECORDED_FIELDS as they are now, JSON values copied (judging may
    change them in place), to save only what judging changed."""
    return tuple(
        copy.deepcopy(v) if isinstance(v, (dict, list)) else v
        for v in (getattr(probe, f) for f in RECORDED_FIELDS)
    )


def maintenance_by_time(probes, times: set[datetime]) -> dict[datetime, set[int]]:
    """The components under maintenance at each check time of a batch: one query per
    distinct time (checks claimed in one tick share it), not one per result."""
    component_ids = {p.component_id for p in probes}
    if not component_ids:
        return {at: set() for at in times}
    return {at: components_under_maintenance(component_ids, at) for at in times}


def housekeeping(
    now: datetime, still_leading: Callable[[], bool] | None = None, jobs: list[str] | None = None
) -> None:
    """Run each periodic job; one failing job must not stop the others or the probes.

    `still_leading` is asked before each job (renewing the lease): a leader that lost its
    lease midway leaves the rest to the new one. Each job runs in the site's language: one
    that reads pages in-process (the answer store's prewarm, the snapshot) goes through
    LocaleMiddleware, which leaves its last language active in this thread, and incidents
    opened and pages sent afterwards would be worded in it.
    """
    for path in settings.ENGINE["HOUSEKEEPING"] if jobs is None else jobs:
        if still_leading is not None and not still_leading():
            log.warning("housekeeping lease lost: leaving %s to the new holder", path)
            return
        try:
            with translation.override(settings.LANGUAGE_CODE):
                import_string(path)(now)
        except Exception:
            log.exception("housekeeping job %s failed", path)


def lease_ttl() -> timedelta:
    """One heartbeat interval: renewed twice in it, taken over within two by another engine
    (an expired lease is taken at the next beat of any engine, half an interval at most)."""
    return timedelta(seconds=settings.ENGINE["HEARTBEAT_SECONDS"])


async def run_checks(checks: list[Check], limit: int) -> list[CheckOutcome | None]:
    async with new_session(limit) as session:
        return await asyncio.gather(*(check.run(session) for check in checks))


def run_checks_blocking(checks: list[Check]) -> list[CheckOutcome | None]:
    """Run checks to completion from synchronous code, even if this thread has a loop running."""
    limit = settings.ENGINE["MAX_CONCURRENCY"]
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(run_checks(checks, limit))
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, run_checks(checks, limit)).result()


def run_due_probes() -> list[tuple[int, CheckOutcome | None, str]]:
    """One synchronous pass: claim, check, record, pulse. Tests drive the engine through this."""
    now = clock.now()
    checks = claim_due_checks(now)
    outcomes = run_checks_blocking(checks) if checks else []
    results = [
        (check.probe_id, outcome, record_outcome(check.probe_id, outcome, now))
        for check, outcome in zip(checks, outcomes, strict=True)
    ]
    monitoring.record_cycle(now, len(results))
    return results


class Engine:
    def __init__(self, tick_seconds: float, max_concurrency: int) -> None:
        self.tick_seconds = tick_seconds
        self.max_concurrency = max_concurrency
        self.stop = asyncio.Event()
        self.in_flight: set[asyncio.Task] = set()
        self.semaphore = asyncio.Semaphore(max_concurrency)
        self.slips: deque[float] = deque(maxlen=SLIP_WINDOW)
        self.completed = 0
        self.finished: list[tuple[int, CheckOutcome | None, datetime]] = []
        self.node: EngineNode | None = None
        self.leading = False

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        last_housekeeping = last_pulse = 0.0
        # The channels' SDKs load on the registry's first use, seconds of CPU: at start, not
        # on the first verdict, inside the batch transaction that holds its probes' locks.
        await self.db(load_channels)()
        self.node = await self.db(monitoring.record_start)(clock.now(), os.getpid())
        await self.db(self.lead)()
        async with new_session(self.max_concurrency) as session:
            while not self.stop.is_set():
                tick_started = loop.time()
                await self.start_due_checks(session)
                await self.flush()
                if loop.time() - last_pulse >= settings.ENGINE["HEARTBEAT_SECONDS"] / 2:
                    last_pulse = loop.time()
                    await self.pulse()
                due = loop.time() - last_housekeeping >= HOUSEKEEPING_EVERY_SECONDS
                if due or verdict_acted.is_set():
                    urgent = verdict_acted.is_set()
                    verdict_acted.clear()
                    last_housekeeping = loop.time()
                    await self.db(self.housekeep)(urgent)
                # Sleep out the rest of the tick only: a slow tick must not add a full one.
                rest = self.tick_seconds - (loop.time() - tick_started)
                try:
                    await asyncio.wait_for(self.stop.wait(), timeout=max(rest, 0.01))
                except TimeoutError:
                    pass
            await self.drain()
        await self.db(self.stopped)()
        await self.db(connections.close_all)()  # the database thread's session ends with us

    def stopped(self) -> None:
        if self.node is None:
            return
        try:
            monitoring.record_stop(self.node, clock.now())
        except Exception:
            log.exception("marking this engine stopped failed")

    async def pulse(self) -> None:
        """Tell the web process and the watchdog that probe cycles still complete; renew
        (or try to take) the housekeeping lease."""
        completed, self.completed = self.completed, 0
        try:
            await self.db(monitoring.record_beat)(
                self.node, clock.now(), completed, self.slip_p99_ms()
            )
            await self.db(self.lead)()
        except Exception:
            log.exception("writing the engine heartbeat failed")

    def lead(self) -> bool:
        """Take or renew the housekeeping lease; logs when this engine gains or loses it."""
        assert self.node is not None
        leading = Lease.acquire(Lease.HOUSEKEEPING, self.node.holder_name, clock.now(), lease_ttl())
        if leading != self.leading:
            log.warning(
                "%s %s the housekeeping lease",
                self.node,
                "holds" if leading else "no longer holds",
            )
        self.leading = leading
        return leading

    def housekeep(self, urgent: bool) -> None:
        """The singleton jobs if this engine holds the lease. A follower that just acted on
        a verdict runs the ENGINE["ON_VERDICT"] jobs itself (the clock's T+0 step), which
        are safe in several engines at once."""
        now = clock.now()
        if self.lead():
            housekeeping(now, self.lead)
        elif urgent:
            housekeeping(now, jobs=settings.ENGINE["ON_VERDICT"])

    def slip_p99_ms(self) -> float | None:
        if not self.slips:
            return None
        ordered = sorted(self.slips)
        return round(ordered[int(0.99 * (len(ordered) - 1))] * 1000, 1)

    async def start_due_checks(self, session) -> None:
        """Claim what is due, up to twice the concurrency in flight: past that this engine
        is saturated and another engine (or its own next tick) takes the rest."""
        room = 2 * self.max_concurrency - len(self.in_flight)
        if room <= 0:
            return
        now = clock.now()
        slips: list[float] = []
        checks = await self.db(claim_due_checks)(now, slips, room)
        for check in checks:
            task = asyncio.create_task(self.check_and_record(session, check, now))
            self.in_flight.add(task)
            task.add_done_callback(self.in_flight.discard)
        self.slips.extend(slips)
        instruments.count_claims(len(checks), slips)

    async def check_and_record(self, session, check: Check, now: datetime) -> None:
        async with self.semaphore:
            outcome = await check.run(session)
        self.finished.append((check.probe_id, outcome, now))

    async def flush(self) -> None:
        """Record what finished since the last tick, in one transaction."""
        batch, self.finished = self.finished, []
        if not batch:
            return
        try:
            self.completed += await self.db(record_batch)(batch)
        except Exception:
            log.exception("recording %d results failed", len(batch))

    async def drain(self) -> None:
        """Let in-flight checks finish and be recorded, so a stop loses no result."""
        if self.in_flight:
            log.info("engine stopping: waiting for %d checks", len(self.in_flight))
            await asyncio.gather(*self.in_flight, return_exceptions=True)
        await self.flush()

    @staticmethod
    def db(func):
        def wrapped(*args):
            close_old_connections()
            return func(*args)

        return sync_to_async(wrapped, thread_sensitive=True)
