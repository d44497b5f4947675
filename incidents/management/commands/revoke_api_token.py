from django.core.management.base import BaseCommand, CommandError

from incidents.models import ApiToken
from statuspage import clock


class Command(BaseCommand):
    help = (
        "Revoke management API keys at once: by id, by name, or every key of a user. "
        "With --list, show every key, its state and when it was last used."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("token_ids", nargs="*", type=int, help="Ids as --list shows them.")
        parser.add_argument("--name", help="Revoke the keys with this name.")
        parser.add_argument("--user", help="Revoke every key of this username.")
        parser.add_argument("--list", action="store_true", help="List keys, revoke nothing.")

    def handle(self, *args, token_ids, name, user, **options) -> None:
        now = clock.now()
        if options["list"]:
            for token in ApiToken.objects.select_related("user").order_by("id"):
                used = token.last_used_at.isoformat() if token.last_used_at else "never"
                self.stdout.write(
                    f"{token.id}\t{token.name}\t{token.user}\t{token.state(now)}\tlast used {used}"
                )
            return
        if not (token_ids or name or user):
            raise CommandError("Name the keys: ids, --name NAME or --user USERNAME (see --list).")
        tokens = ApiToken.objects.all()
        if token_ids:
            tokens = tokens.filter(id__in=token_ids)
        if name:
            tokens = tokens.filter(name=name)
        if user:
            tokens = tokens.filter(user__username=user)
        found = list(tokens)
        if not found:
            raise CommandError("No key matches.")
        revoked = sum(token.revoke(now) for token in found)
        self.stdout.write(f"revoked {revoked} key(s); {len(found) - revoked} were revoked already")
