"""``manage.py publish_snapshot [--dir PATH]``: write the static copy of the public site now."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from statuspage.public.snapshot import SnapshotError, publish


class Command(BaseCommand):
    help = "Render the public site (page, JSON, feeds, badges, assets) into STATUS_SNAPSHOT_DIR."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dir",
            default=settings.STATUS_SNAPSHOT_DIR,
            help="target (a symlink the command manages); default STATUS_SNAPSHOT_DIR",
        )

    def handle(self, *args: Any, dir: str, **options: Any) -> None:
        if not dir:
            raise CommandError("Set STATUS_SNAPSHOT_DIR or pass --dir.")
        try:
            version = publish(dir)
        except SnapshotError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(f"published {version} at {dir}")
