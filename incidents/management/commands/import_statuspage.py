"""`manage.py import_statuspage URL_OR_FILE`: bring a Statuspage page's history here."""

from __future__ import annotations

import shlex

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from incidents.response.importing.shapes import ExportError, read_export
from incidents.response.importing.sources import SourceError, read_source
from incidents.response.importing.writer import ImportReport, Tally, import_export
from statuspage import clock


class Command(BaseCommand):
    help = (
        "Import components, groups, incidents with their updates and scheduled maintenance "
        "from Atlassian Statuspage's v2 JSON: a page URL, a JSON file, a directory of them or "
        "a zip. Idempotent, all or nothing, and it notifies nobody."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "source", help="https://status.example.com, a .json file, a directory or a .zip"
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Say what would change, and change nothing."
        )

    def handle(self, *args, source: str, dry_run: bool, **options) -> None:
        try:
            export = read_export(read_source(source))
            report = import_export(export, clock.now(), dry_run=dry_run)
        except SourceError as error:
            raise CommandError(f"nothing was imported: {error}") from None
        except ExportError as error:
            raise CommandError("nothing was imported:\n" + "\n".join(error.problems)) from None
        except DatabaseError as error:
            raise CommandError(f"nothing was imported: the database refused it: {error}") from None
        self.write_report(report)
        for page in export.pages.values():
            self.write_page_hint(page)

    def write_report(self, report: ImportReport) -> None:
        would = "would be " if report.dry_run else ""
        if report.dry_run:
            self.stdout.write("dry run, nothing changed:")
        for name in ("groups", "components", "incidents", "updates"):
            tally: Tally = getattr(report, name)
            self.stdout.write(
                f"{name}: {would}created {len(tally.created)}, {would}updated "
                f"{len(tally.updated)}, unchanged {tally.unchanged}"
            )
            if name != "updates":
                for label in tally.created:
                    self.stdout.write(f"  + {label}")
                for label in tally.updated:
                    self.stdout.write(f"  ~ {label}")
        for label in report.kept:
            self.stdout.write(f"  kept as it is here (changed here since the export): {label}")

    def write_page_hint(self, page: dict[str, str]) -> None:
        """The settings that make our v2 JSON answer with the old page's id, name and zone."""
        ours = {
            "STATUSPAGE_PAGE_ID": (settings.STATUSPAGE["PAGE_ID"], page.get("id")),
            "STATUSPAGE_NAME": (settings.STATUSPAGE["NAME"], page.get("name")),
            "TIME_ZONE": (settings.TIME_ZONE, page.get("time_zone")),
        }
        differ = [
            f"{name}={shlex.quote(new)}" for name, (now, new) in ours.items() if new and new != now
        ]
        self.stdout.write(f"from the page {page.get('name', '')!r} ({page.get('url', '')})")
        if differ:
            self.stdout.write(f"  to answer as it did, set in the environment: {' '.join(differ)}")
