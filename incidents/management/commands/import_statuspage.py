"""`manage.py import_statuspage URL_OR_FILE`: bring a Statuspage page's history here."""

from __future__ import annotations

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
