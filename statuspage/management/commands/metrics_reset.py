"""Wipe this node's Prometheus multiprocess directory before its processes start."""

from __future__ import annotations

import os
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from statuspage.operations.metrics import MULTIPROC_ENV, reset_multiprocess_dir


class Command(BaseCommand):
    help = (
        "Remove the files in PROMETHEUS_MULTIPROC_DIR, unless a process writing there still "
        "runs. Run it before a node's processes start (ExecStartPre, or the node's script)."
    )

    def handle(self, *args, **options) -> None:
        path = os.environ.get(MULTIPROC_ENV)
        if not path:
            raise CommandError(f"{MULTIPROC_ENV} is not set: nothing to reset")
        live = reset_multiprocess_dir(Path(path))
        if live:
            pids = ", ".join(map(str, live))
            self.stdout.write(f"{path} kept: processes {pids} still write there")
        else:
            self.stdout.write(f"{path} wiped")
