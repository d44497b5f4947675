from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from incidents.console.api_auth import issue_token
from statuspage import clock


class Command(BaseCommand):
    help = "Create a management API key for a user and print it once."

    def add_arguments(self, parser) -> None:
        parser.add_argument("username")
        parser.add_argument("name", help="What the key is for, e.g. 'deploy bot'.")
        parser.add_argument(
            "--expires-in-days", type=int, help="The key stops working after this many days."
        )

    def handle(self, *args, username: str, name: str, expires_in_days, **options) -> None:
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user named {username!r}.")
        expires_at = None
        if expires_in_days is not None:
            if not 1 <= expires_in_days <= 3660:
                raise CommandError("--expires-in-days: from 1 to 3660.")
            expires_at = clock.now() + timedelta(days=expires_in_days)
        self.stdout.write(issue_token(user, name, expires_at))
