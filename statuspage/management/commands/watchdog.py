"""Check the engines and the task queue from outside them: run it from cron or a systemd timer.

When no engine completed a probe cycle for two heartbeat intervals it pages on-call once
(the ENGINE["ONCALL_PAGERS"] hooks: a log line, and SMS/email through the notifiers outbox;
the same claim the web process uses, so never twice), prints what it found and exits with
status 2. When the task queue is stalled (work queued for TASKS["STALL_SECONDS"] and no
task finished) it pages on-call directly, not through the stuck queue, once per stall
(incidents.response.queue_stall, the engine's job too), and exits with status 3. An engine
that died while others still check is named and the status is 4: monitoring goes on, with
less redundancy than planned. So cron's MAILTO or systemd's OnFailure= raises the alarm even
if our own notifiers are down too.
"""

from __future__ import annotations

import sys

from django.core.management.base import BaseCommand

from incidents.response.queue_stall import check_queue
from statuspage import clock
from statuspage.picture.monitoring import (
    compute_state,
    dead_engines,
    engines,
    housekeeping_leader,
    raise_alarm,
)

EXIT_INTERRUPTED = 2
EXIT_QUEUE_STALLED = 3
EXIT_ENGINE_DEAD = 4


class Command(BaseCommand):
    help = (
        "Page on-call if no engine completes probe cycles (exit 2) or the task queue stalled "
        "(exit 3); name engines that died while others still check (exit 4)."
    )

    def handle(self, *args, **options) -> None:
        now = clock.now()
        interrupted = self.check_engine(now)
        dead = self.check_engines(now)
        stalled = self.check_tasks(now)
        if interrupted:
            sys.exit(EXIT_INTERRUPTED)
        if stalled:
            sys.exit(EXIT_QUEUE_STALLED)
        if dead:
            sys.exit(EXIT_ENGINE_DEAD)

    def check_engine(self, now) -> bool:
        state = compute_state(now)
        if not state.interrupted:
            self.stdout.write(f"monitoring OK: last probe cycle at {state.last_cycle_at}")
            return False
        paged = raise_alarm(state, now)
        since = state.since.isoformat() if state.since else "never started"
        self.stderr.write(
            f"MONITORING INTERRUPTED: no probe cycle completed since {since}; "
            + ("on-call paged" if paged else "on-call already paged")
        )
        return True

    def check_engines(self, now) -> bool:
        """Each engine, the leader marked; True when one is dead."""
        nodes = engines(now)
        leader = housekeeping_leader(now, nodes)
        for engine in nodes:
            slip = f", p99 schedule slip {engine.slip_p99_ms:g} ms" if engine.slip_p99_ms else ""
            lead = ", housekeeping leader" if engine is leader else ""
            self.stdout.write(
                f"  engine {engine.host} pid {engine.pid}: {engine.state(now)}, last beat "
                f"{engine.last_beat_at.isoformat()}{slip}{lead}"
            )
        dead = dead_engines(now)
        for engine in dead:
            self.stderr.write(
                f"ENGINE DEAD: {engine.host} pid {engine.pid}, no beat since "
                f"{engine.last_beat_at.isoformat()}"
            )
        return bool(dead)

    def check_tasks(self, now) -> bool:
        health = check_queue(now)
        age = f"{health.oldest_age_seconds:.0f} s" if health.oldest_age_seconds else "none"
        finished = health.last_finished_at.isoformat() if health.last_finished_at else "never"
        summary = f"{health.depth} queued, oldest {age}, last finished {finished}"
        if not health.stalled:
            self.stdout.write(f"task queue OK: {summary}")
            return False
        self.stderr.write(f"TASK QUEUE STALLED: {summary}; on-call paged once per stall")
        return True
