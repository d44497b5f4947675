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

    def handle(self, *args, file: Path, **options) -> None:
        try:
            text = file.read_text()
        except OSError as error:
            raise CommandError(f"{file}: {error.strerror}") from None
        try:
            report = load(text)
        except ConfigError as error:
            lines = [f"{file}:{p.line}: {p.where}: {p.message}" for p in error.problems]
            raise CommandError("nothing was changed:\n" + "\n".join(lines)) from None
        self.stdout.write(
            f"created {len(report.created)}, updated {len(report.updated)}, "
            f"unchanged {len(report.unchanged)}"
        )
        for label in report.created + report.updated:
            self.stdout.write(f"  {label}")
        for probe in report.heartbeats:
            url = settings.STATUSPAGE["URL"] + reverse("ping", args=[probe.ping_key])
            self.stdout.write(f"heartbeat {probe.component.name}: {probe.name}: ping {url}")
