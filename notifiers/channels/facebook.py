"""Posts to a Facebook Page through the Graph API (plain HTTP: Meta ships no Python SDK)."""

from __future__ import annotations

import requests

from notifiers.channels.social import SocialChannel, sandbox_url
from notifiers.lengths import characters
from notifiers.registry import (
    DeliveryError,
    Limit,
    Part,
    PermanentError,
    TransientError,
    register,
)

GRAPH_URL = "https://graph.facebook.com"
GRAPH_VERSION = "v21.0"
# Graph error codes that mean "later": throttling and temporary outages.
RETRYABLE_CODES = {1, 2, 4, 17, 32, 341, 368, 613}


def classify(response: requests.Response) -> DeliveryError:
    try:
        error = response.json().get("error", {})
    except ValueError:
        error = {}
    message = error.get("message", response.text[:200])
    text = f"Graph {response.status_code} code {error.get('code')}: {message}"
    if (
        response.status_code >= 500
        or response.status_code == 429
        or error.get("code") in RETRYABLE_CODES
    ):
        return TransientError(text)
    if error.get("code") == 190:  # the token expired or was revoked: fix the config, then retry
        return TransientError(text)
    return PermanentError(text)


@register
class FacebookChannel(SocialChannel):
    name = "facebook"
    label = "Facebook Page"
    provider = "facebook"
    network = "facebook"
    limit = 5000
    parts = (Part("body", Limit("FACEBOOK", 63_206, characters)),)
    sandbox = "facebook"

    def post(self, account, text, message, delivery) -> str:
        url = f"{sandbox_url() or GRAPH_URL}/{GRAPH_VERSION}/{account.account}/feed"
        data = {"message": text, "link": message.link, "access_token": account.secret("PAGE_TOKEN")}
        try:
            response = requests.post(url, data=data, timeout=15)
        except requests.RequestException as error:
            raise TransientError(f"{type(error).__name__}: {error}") from error
        if response.status_code != 200:
            raise classify(response)
        return str(response.json().get("id", ""))
