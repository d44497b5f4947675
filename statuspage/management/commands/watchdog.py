"""Check that the engines are alive, from outside them: run it from cron or a systemd timer.

When no engine completed a probe cycle for two heartbeat intervals it pages on-call once
(the ENGINE["ONCALL_PAGERS"] hooks: a log line, and SMS/email through the notifiers outbox;
the same claim the web process uses, so never twice), prints what it found and exits with
status 2, so cron's MAILTO or systemd's OnFailure= raises the alarm even if our own
database-backed notifiers are down too. An engine that died while others still run is
named and the exit status is 3: monitoring goes on, with less redundancy than planned.
"""

from __future__ import annotations

import sys

from django.core.management.base import BaseCommand

from statuspage import clock
from statuspage.picture.monitoring import (
    compute_state,
    dead_engines,
    engines,
    housekeeping_leader,
    raise_alarm,
)

EXIT_INTERRUPTED = 2
EXIT_ENGINE_DEAD = 3


class Command(BaseCommand):
    help = "Page on-call if no engine completes probe cycles (exit 2); name dead engines (exit 3)."

    def handle(self, *args, **options) -> None:
        now = clock.now()
        state = compute_state(now)
        dead = dead_engines(now)
        for engine in dead:
            self.stderr.write(
                f"ENGINE DEAD: {engine.host} pid {engine.pid}, no beat since "
                f"{engine.last_beat_at.isoformat()}"
            )
        if state.interrupted:
            paged = raise_alarm(state, now)
            since = state.since.isoformat() if state.since else "never started"
            self.stderr.write(
                f"MONITORING INTERRUPTED: no probe cycle completed since {since}; "
                + ("on-call paged" if paged else "on-call already paged")
            )
            sys.exit(EXIT_INTERRUPTED)
        self.stdout.write(f"monitoring OK: last probe cycle at {state.last_cycle_at}")
        leader = housekeeping_leader(now)
        for engine in engines(now):
            slip = f", p99 schedule slip {engine.slip_p99_ms:g} ms" if engine.slip_p99_ms else ""
            lead = ", housekeeping leader" if leader and leader.pk == engine.pk else ""
            self.stdout.write(
                f"  engine {engine.host} pid {engine.pid}: {engine.state(now)}, last beat "
                f"{engine.last_beat_at.isoformat()}{slip}{lead}"
            )
        if dead:
            sys.exit(EXIT_ENGINE_DEAD)
