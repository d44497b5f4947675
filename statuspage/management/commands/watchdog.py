"""Check that the engine is alive, from outside the engine: run it from cron or a systemd timer.

When no probe cycle completed for two heartbeat intervals it pages on-call once (the
ENGINE["ONCALL_PAGERS"] hooks: a log line, and SMS/email through the notifiers outbox; the
same claim the web process uses, so never twice), prints what it found and exits with
status 2, so cron's MAILTO or systemd's OnFailure= raises the alarm even if our own
database-backed notifiers are down too.
"""

from __future__ import annotations

import sys

from django.core.management.base import BaseCommand

from statuspage import clock
from statuspage.models import EngineHeartbeat
from statuspage.picture.monitoring import compute_state, raise_alarm

EXIT_INTERRUPTED = 2


class Command(BaseCommand):
    help = "Page on-call if the engine stopped completing probe cycles (exit 2 when it has)."

    def handle(self, *args, **options) -> None:
        now = clock.now()
        state = compute_state(now)
        if not state.interrupted:
            beat = EngineHeartbeat.objects.filter(name="engine").first()
            slip = (
                f", p99 schedule slip {beat.slip_p99_ms:g} ms" if beat and beat.slip_p99_ms else ""
            )
            self.stdout.write(f"monitoring OK: last probe cycle at {state.last_cycle_at}{slip}")
            return
        paged = raise_alarm(state, now)
        since = state.since.isoformat() if state.since else "never started"
        self.stderr.write(
            f"MONITORING INTERRUPTED: no probe cycle completed since {since}; "
            + ("on-call paged" if paged else "on-call already paged")
        )
        sys.exit(EXIT_INTERRUPTED)
