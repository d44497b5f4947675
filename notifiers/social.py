"""Social network accounts the status page posts to, configured in the admin.

Secrets never live in the database: an account names the prefix of its environment
variables (``<PREFIX>_ACCESS_TOKEN``...), which each network's channel reads. In sandbox
mode missing secrets fall back to sandbox placeholders, so the demo works unconfigured.
"""

from __future__ import annotations

import os

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from notifiers.registry import registered


def network_choices() -> list[tuple[str, str]]:
    """The registered channels that post from the accounts kept here: those declaring the
    `network` their accounts are stored under (notifiers.channels.social.SocialChannel)."""
    networks = ((getattr(cls, "network", ""), cls.label) for cls in registered().values())
    return sorted((network, label) for network, label in networks if network)


env_prefix = RegexValidator(r"^[A-Z][A-Z0-9_]*$", _("Upper-case letters, digits and _ only."))


class SocialAccount(models.Model):
    network = models.CharField(max_length=16, choices=network_choices)
    name = models.CharField(
        max_length=120, help_text=_("For the console, e.g. '@acme on mastodon.social'.")
    )
    enabled = models.BooleanField(default=True)
    # Mastodon: the instance (https://mastodon.social); Bluesky: the PDS (https://bsky.social).
    server_url = models.URLField(blank=True)
    # Bluesky: the handle; Facebook: the Page id.
    account = models.CharField(max_length=200, blank=True)
    secret_env_prefix = models.CharField(
        max_length=60,
        validators=[env_prefix],
        help_text=_(
            "Secrets are read from <PREFIX>_ACCESS_TOKEN, <PREFIX>_APP_PASSWORD, "
            "<PREFIX>_CONSUMER_KEY... in the environment, never stored here."
        ),
    )

    class Meta:
        ordering = ["network", "name"]

    def __str__(self) -> str:
        return f"{self.get_network_display()}: {self.name}"

    def secret(self, part: str) -> str:
        value = os.environ.get(f"{self.secret_env_prefix}_{part}", "")
        if not value and settings.SANDBOX_URL:
            return f"sandbox-{part.lower()}"
        return value
