"""The registry of channels: one module per channel, each a small class on one base.

Adding a channel means adding its module (and its templates under templates/messages/<name>/)
and listing the module in CHANNEL_MODULES; the Delivery model takes its choices from here.
"""

from __future__ import annotations

from importlib import import_module

from notifiers.channels.base import Channel

CHANNEL_MODULES = [
    "notifiers.channels.push",
    "notifiers.channels.sms",
    "notifiers.channels.email",
    "notifiers.channels.webhook",
    "notifiers.channels.voice",
    "notifiers.channels.mastodon",
    "notifiers.channels.bluesky",
    "notifiers.channels.x",
    "notifiers.channels.facebook",
]

_registry: dict[str, type[Channel]] = {}


def register(cls: type[Channel]) -> type[Channel]:
    _registry[cls.name] = cls
    return cls


def _load() -> dict[str, type[Channel]]:
    for module in CHANNEL_MODULES:
        import_module(module)
    return _registry


def get_channel(name: str) -> Channel:
    return _load()[name]()


def channel_choices() -> list[tuple[str, str]]:
    return [(name, cls.label) for name, cls in sorted(_load().items())]
