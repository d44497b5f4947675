"""`manage.py load_probes FILE.yaml`: create or update components and probes from a file."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.urls import reverse

from statuspage.probes.loader import ConfigError, load


class Command(BaseCommand):
    help = "Create or update components and probes from YAML (idempotent; all or nothing)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument(
            "--prune",
            action="store_true",
            help="Also delete every probe the file does not name (with its check results).",
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Say what would be created, updated and pruned, and change nothing.",
        )

    def handle(self, *args, file: Path, prune: bool, dry_run: bool, **options) -> None:
        try:
            text = file.read_text()
        except OSError as error:
            raise CommandError(f"{file}: {error.strerror}") from None
        try:
            report = load(text, prune=prune, dry_run=dry_run)
        except ConfigError as error:
            lines = [f"{file}:{p.line}: {p.where}: {p.message}" for p in error.problems]
            raise CommandError("nothing was changed:\n" + "\n".join(lines)) from None
        would = "would be " if dry_run else ""
        pruned = f", {would}pruned {len(report.pruned)}" if prune else ""
        self.stdout.write(
            f"{'dry run, nothing changed: ' if dry_run else ''}"
            f"{would}created {len(report.created)}, {would}updated {len(report.updated)}, "
            f"unchanged {len(report.unchanged)}{pruned}"
        )
        for label in report.created + report.updated:
            self.stdout.write(f"  {label}")
        for label in report.pruned:
            self.stdout.write(f"  {'would remove' if dry_run else 'removed'} {label}")
        for label in report.open_incidents:
            self.stdout.write(
                f"  {label} has an open incident: resolve it in the console, no probe will"
            )
        for probe in [] if dry_run else report.heartbeats:
            url = settings.STATUSPAGE["URL"] + reverse("ping", args=[probe.ping_key])
            self.stdout.write(f"heartbeat {probe.component.name}: {probe.name}: ping {url}")
