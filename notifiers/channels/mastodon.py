"""Public posts to Mastodon accounts (Mastodon.py)."""

from __future__ import annotations

from mastodon import (
    Mastodon,
    MastodonAPIError,
    MastodonError,
    MastodonNetworkError,
    MastodonRatelimitError,
    MastodonServerError,
    MastodonUnauthorizedError,
)

from notifiers.channels.social import SocialChannel, sandbox_url
from notifiers.lengths import mastodon_characters
from notifiers.registry import (
    DeliveryError,
    Limit,
    Part,
    PermanentError,
    TransientError,
    register,
)


def classify(error: MastodonError) -> DeliveryError:
    text = f"{type(error).__name__}: {error}"
    if isinstance(
        error,
        (
            MastodonRatelimitError,
            MastodonServerError,
            MastodonNetworkError,
            MastodonUnauthorizedError,
        ),
    ):
        return TransientError(text)
    if isinstance(error, MastodonAPIError):
        return PermanentError(text)
    return TransientError(text)


@register
class MastodonChannel(SocialChannel):
    name = "mastodon"
    label = "Mastodon"
    provider = "mastodon"
    network = "mastodon"
    limit = 500
    parts = (Part("body", Limit("MASTODON", 500, mastodon_characters)),)
    sandbox = "mastodon"

    def post(self, account, text, message, delivery) -> str:
        client = Mastodon(
            access_token=account.secret("ACCESS_TOKEN"),
            api_base_url=sandbox_url() or account.server_url,
            ratelimit_method="throw",
            request_timeout=15,
        )
        try:
            # A retry after a lost answer must not post twice: Mastodon dedupes on this key.
            status = client.status_post(
                text, visibility="public", idempotency_key=f"statuspage-delivery-{delivery.id}"
            )
        except MastodonError as error:
            raise classify(error) from error
        return str(status["id"])
