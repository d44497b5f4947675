"""The sandbox's aiohttp application: every provider's routes on one app.

Each provider module exposes ``register(app)``, which adds its routes (wrapped with
``faults.inject_faults`` under its provider name) and any state it needs. Adding Twilio,
SendGrid or a social API means writing such a module and listing it in ``PROVIDERS``.
Provider routes keep the real APIs' paths, because the SDKs are pointed at the sandbox by
changing only the scheme, host and port.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from aiohttp import web

from notifiers.sandbox import (
    bluesky,
    facebook,
    fcm,
    mastodon,
    receiver,
    sendgrid,
    twilio,
    views,
    x,
)
from notifiers.sandbox.faults import FAULTS_KEY, FaultInjector
from notifiers.sandbox.recorder import RECORDER_KEY, Recorder

Registration = Callable[[web.Application], None]

PROVIDERS: tuple[Registration, ...] = (
    fcm.register,
    twilio.register,
    sendgrid.register,
    receiver.register,
    mastodon.register,
    bluesky.register,
    x.register,
    facebook.register,
)


def make_app(
    recorder: Recorder,
    faults: FaultInjector | None = None,
    providers: Iterable[Registration] = PROVIDERS,
) -> web.Application:
    app = web.Application()
    app[RECORDER_KEY] = recorder
    app[FAULTS_KEY] = faults or FaultInjector()
    for register in providers:
        register(app)
    views.register(app)
    return app
