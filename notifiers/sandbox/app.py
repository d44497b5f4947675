"""The sandbox's aiohttp application: every provider's routes on one app.

A provider module is any module of this package with a ``PROVIDER`` name and a
``register(app)``, which adds its routes (wrapped with ``faults.inject_faults`` under its
provider name) and any state it needs. The package is walked for them, so adding a
provider (Twilio, SendGrid, a social API, Slack) means writing such a module and nothing
else. Provider routes keep the real APIs' paths, because the SDKs are pointed at the
sandbox by changing only the scheme, host and port.
"""

from __future__ import annotations

import pkgutil
from collections.abc import Callable, Iterable
from importlib import import_module
from pathlib import Path
from types import ModuleType

from aiohttp import web

from notifiers.sandbox import views
from notifiers.sandbox.faults import FAULTS_KEY, FaultInjector
from notifiers.sandbox.recorder import RECORDER_KEY, Recorder

Registration = Callable[[web.Application], None]


def provider_modules() -> list[ModuleType]:
    """Every provider module of this package, by module name.

    Walked when an app is made, not when this module is imported: the walk imports every
    module of the package, some of which import this one."""
    modules = (
        import_module(f"{__package__}.{info.name}")
        for info in pkgutil.iter_modules([str(Path(__file__).parent)])
    )
    return [m for m in modules if is_provider(m)]


def is_provider(module: ModuleType) -> bool:
    return isinstance(getattr(module, "PROVIDER", None), str) and callable(
        getattr(module, "register", None)
    )


def make_app(
    recorder: Recorder,
    faults: FaultInjector | None = None,
    providers: Iterable[Registration] | None = None,
) -> web.Application:
    app = web.Application()
    app[RECORDER_KEY] = recorder
    app[FAULTS_KEY] = faults or FaultInjector()
    if providers is None:
        providers = [module.register for module in provider_modules()]
    for register in providers:
        register(app)
    views.register(app)
    return app
