"""``manage.py flush_answers``: every stored public answer is rendered afresh on its next read.

It moves the picture's version (statuspage.changes) instead of clearing the cache: on Redis
the store may share its database with the django-q2 broker, which a FLUSHDB would empty.
Stale entries stay as the last resort while the database is unreachable, then expire.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from statuspage import changes


class Command(BaseCommand):
    help = "Make every stored public answer (page, JSON, feeds, badges) render afresh."

    def handle(self, *args: Any, **options: Any) -> None:
        before = changes.current_version()
        changes.bump()
        self.stdout.write(f"picture version {before} -> {changes.current_version()}")
