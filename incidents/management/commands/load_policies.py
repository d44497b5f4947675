from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from incidents.response.policies import PolicyError, load_policies


class Command(BaseCommand):
    help = "Create or replace escalation policies from a YAML file; nothing changes on error."

    def add_arguments(self, parser) -> None:
        parser.add_argument("path", type=Path)

    def handle(self, *args, path: Path, **options) -> None:
        try:
            policies = load_policies(path)
        except (OSError, PolicyError) as error:
            raise CommandError(str(error)) from error
        for policy in policies:
            self.stdout.write(f"loaded {policy.name}: {policy.steps.count()} steps")
