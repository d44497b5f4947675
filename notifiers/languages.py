"""Each subscriber is written to in their own language, and batches stay batches.

A claimed batch is split by the language of each delivery's subscriber (deliveries to
topics, on-call staff or social accounts use the default language); each language's
message is rendered once per send task under ``translation.override`` and sent to its
group in one provider call (one SendGrid request per language, and so on).
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.db import DatabaseError
from django.utils import translation

from incidents.limits import MessageTooLong
from notifiers.registry import DeliveryError, PermanentError, TransientError

log = logging.getLogger(__name__)


def supported_language(tag: str) -> str:
    """The language of settings.LANGUAGES that serves a language tag ("es-MX" -> "es");
    the default language for anything else."""
    try:
        return translation.get_supported_language_variant((tag or "").strip().lower())
    except LookupError:
        return settings.LANGUAGE_CODE


def by_language(batch: list) -> list[tuple[str, list]]:
    """The batch in groups of one language each, the default language first, each group
    in batch order. A language is looked up once per distinct locale, not per delivery."""
    languages: dict[str, str] = {}
    groups: dict[str, list] = {}
    for delivery in batch:
        locale = delivery.subscriber.locale if delivery.subscriber else ""
        if locale not in languages:
            languages[locale] = supported_language(locale) if locale else settings.LANGUAGE_CODE
        groups.setdefault(languages[locale], []).append(delivery)
    return sorted(groups.items(), key=lambda group: (group[0] != settings.LANGUAGE_CODE, group[0]))


def render_in(channel, announcement, language: str) -> Any:
    """The channel's message in ``language``. A translation over the channel's length limit
    falls back to the default language: a message in English beats none."""
    try:
        with translation.override(language):
            return channel.render(announcement)
    except MessageTooLong as error:
        if language == settings.LANGUAGE_CODE:
            raise
        log.warning(
            "%s in %s is too long (%s); sent in %s",
            channel.name,
            language,
            error,
            settings.LANGUAGE_CODE,
        )
        return render_in(channel, announcement, settings.LANGUAGE_CODE)


def message_or_error(channel, announcement, language: str) -> Any:
    """The message to send, or the DeliveryError its rows fail with when it cannot be
    rendered: a wording that no shortening makes fit, or a broken template override, is
    final (retrying renders it the same); a database hiccup is retried."""
    try:
        return render_in(channel, announcement, language)
    except DatabaseError as error:
        return TransientError(f"could not render the message: {error}")
    except Exception as error:  # any template or context error: fail the rows, never strand them
        log.warning("%s message could not be rendered: %s", channel.name, error)
        return PermanentError(f"could not render the message: {type(error).__name__}: {error}")


def is_failure(message: Any) -> bool:
    return isinstance(message, DeliveryError)
