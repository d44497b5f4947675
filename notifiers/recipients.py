"""Who an announcement is for: the words an escalation step and the outbox share.

Below both the incidents' and the notifiers' models, so a policy step can name its recipients
without importing the outbox.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Recipients(models.TextChoices):
    """Who an announcement is for; each channel knows how to list their addresses."""

    APP_USERS = "app_users", _("Users and followers of one app (`audience`)")
    # App installs subscribed to the push topic of an affected component (sent with app pushes).
    COMPONENT_TOPICS = "component_topics", _("App users following the affected components")
    SUBSCRIBERS = "subscribers", _("Subscribers of the affected components")
    ONCALL = "oncall", _("On-call staff")
    PUBLIC = "public", _("The public (social networks, public webhooks)")
    # Subscribers reached on their backup contact (their first channel failed permanently,
    # or its provider was down too long); deliveries are added one by one.
    FALLBACK = "fallback", _("Subscribers reached on their second channel")
