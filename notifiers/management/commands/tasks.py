"""Run the django-q2 task cluster under its supervisor (notifiers.delivery.supervisor).

Exits 0 when stopped (SIGTERM, Ctrl-C), and non-zero when the cluster lost a process or
stopped making progress, so `runall` or systemd (Restart=on-failure) starts a fresh one.
"""

from __future__ import annotations

import logging
import os
import sys

from django.core.management.base import BaseCommand

from notifiers.delivery.supervisor import Supervisor


class Command(BaseCommand):
    help = "Run the task cluster; exit non-zero (for a restart) if it loses a process or stalls."

    def handle(self, *args, **options) -> None:
        code = Supervisor().run()
        # Everything below us is stopped and reaped: skip the interpreter's teardown of a
        # full Django heap (over a second on a busy machine) so a restart comes sooner.
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
