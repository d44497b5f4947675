from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from incidents.console.api_auth import issue_token


class Command(BaseCommand):
    help = "Create a management API key for a user and print it once."

    def add_arguments(self, parser) -> None:
        parser.add_argument("username")
        parser.add_argument("name", help="What the key is for, e.g. 'deploy bot'.")

    def handle(self, *args, username: str, name: str, **options) -> None:
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user named {username!r}.")
        self.stdout.write(issue_token(user, name))
