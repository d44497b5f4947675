"""Public posts to X (tweepy, API v2, OAuth 1.0a user context)."""

from __future__ import annotations

import requests
import tweepy
from django.conf import settings

from notifiers.channels.social import RoutedAdapter, SocialChannel
from notifiers.lengths import x_weighted
from notifiers.registry import (
    DeliveryError,
    Limit,
    Part,
    PermanentError,
    TransientError,
    register,
)
from statuspage import clock

X_HOSTS = ("https://api.twitter.com/", "https://api.x.com/")


def classify(error: Exception) -> DeliveryError:
    text = f"{type(error).__name__}: {error}"
    if isinstance(error, tweepy.TooManyRequests):
        reset = getattr(error, "reset_time", None)
        return TransientError(text, retry_after=None if reset is None else max(reset - _now(), 0))
    if isinstance(
        error, (tweepy.TwitterServerError, tweepy.Unauthorized, requests.RequestException)
    ):
        return TransientError(text)
    if isinstance(error, tweepy.HTTPException):
        return PermanentError(text)
    return TransientError(text)


def _now() -> float:
    return clock.now().timestamp()


def x_client(account) -> tweepy.Client:
    client = tweepy.Client(
        consumer_key=account.secret("CONSUMER_KEY"),
        consumer_secret=account.secret("CONSUMER_SECRET"),
        access_token=account.secret("ACCESS_TOKEN"),
        access_token_secret=account.secret("ACCESS_TOKEN_SECRET"),
        wait_on_rate_limit=False,
    )
    if settings.SANDBOX_URL:
        for host in X_HOSTS:
            client.session.mount(host, RoutedAdapter(settings.SANDBOX_URL))
    return client


@register
class XChannel(SocialChannel):
    name = "x"
    label = "X"
    provider = "x"
    network = "x"
    limit = 280
    parts = (Part("body", Limit("X", 280, x_weighted)),)
    sandbox = "x"

    def post(self, account, text, message, delivery) -> str:
        try:
            response = x_client(account).create_tweet(text=text, user_auth=True)
        except (tweepy.TweepyException, requests.RequestException) as error:
            raise classify(error) from error
        return str(response.data["id"])
