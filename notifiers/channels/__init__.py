"""One module per channel, each a small class on `notifiers.registry.Channel`.

Adding a channel means adding its module here, its sandbox module and its templates under
templates/messages/<name>/: every module of this package is imported on the registry's first
use (`NotifiersConfig.ready` hands it `load_all`) and registers its class
(docs/ARCHITECTURE-notifiers.md, "Adding a channel").
"""

from __future__ import annotations

import pkgutil
from importlib import import_module


def load_all() -> None:
    """Import every module of this package, so each channel registers itself."""
    for info in pkgutil.iter_modules(__path__):
        import_module(f"{__name__}.{info.name}")
