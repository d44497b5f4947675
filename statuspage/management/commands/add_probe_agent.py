"""`manage.py add_probe_agent NAME --region R`: register an agent and print its token once."""

from django.core.management.base import BaseCommand

from statuspage.models import ProbeAgent


class Command(BaseCommand):
    help = "Register (or re-key) a probe agent for a region; prints its token once."

    def add_arguments(self, parser) -> None:
        parser.add_argument("name")
        parser.add_argument("--region", required=True)

    def handle(self, *args, name: str, region: str, **options) -> None:
        agent, token = ProbeAgent.register(name, region)
        self.stdout.write(f"agent {agent} registered; its token (shown once):\n{token}")
