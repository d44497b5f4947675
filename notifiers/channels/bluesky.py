"""Public posts to Bluesky (atproto), with the incident link as a real link facet."""

from __future__ import annotations

from atproto import Client, client_utils
from atproto_client import exceptions

from notifiers.channels.social import SocialChannel, sandbox_url
from notifiers.lengths import bluesky_graphemes
from notifiers.registry import (
    DeliveryError,
    Limit,
    Part,
    PermanentError,
    TransientError,
    register,
)

DEFAULT_PDS = "https://bsky.social"


def classify(error: Exception) -> DeliveryError:
    text = f"{type(error).__name__}: {error}"
    if isinstance(
        error,
        (exceptions.NetworkError, exceptions.RateLimitExceededError, exceptions.UnauthorizedError),
    ):
        return TransientError(text)
    status = getattr(getattr(error, "response", None), "status_code", None)
    if status is not None and status >= 500:
        return TransientError(text)
    if isinstance(error, exceptions.BadRequestError):
        return PermanentError(text)
    return TransientError(text)


@register
class BlueskyChannel(SocialChannel):
    name = "bluesky"
    label = "Bluesky"
    provider = "bluesky"
    network = "bluesky"
    limit = 300
    parts = (Part("body", Limit("BLUESKY_GRAPHEMES", 300, bluesky_graphemes)),)
    sandbox = "bluesky"

    def post(self, account, text, message, delivery) -> str:
        base = sandbox_url() or account.server_url or DEFAULT_PDS
        client = Client(base_url=f"{base}/xrpc")
        body = text[: len(text) - len(message.link)].rstrip()
        rich = client_utils.TextBuilder().text(f"{body} ").link(message.link, message.link)
        try:
            client.login(account.account, account.secret("APP_PASSWORD"), fetch_bsky_profile=False)
            response = client.send_post(rich, profile_identify=account.account)
        except exceptions.AtProtocolError as error:
            raise classify(error) from error
        return response.uri
