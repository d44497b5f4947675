"""The public picture's version: one token in the answer store that every writer moves on.

Stored public answers (statuspage.public.store) are tagged with the version they were rendered
at; a change of the picture (a verdict, an incident update, an escalation step, monitoring
interrupted or restored, a probe gone silent, maintenance) writes a new token, so every web
worker's next read renders afresh. This module sits at the bottom of the layers so that any
writer may call `picture_changed()`; saves of the models the picture is made of call it by
themselves (`connect`, from the app's ready()), and writers that change the picture with a
queryset UPDATE, which sends no signal, call it directly.
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

from django.core.cache import caches
from django.core.cache.backends.base import BaseCache
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save

log = logging.getLogger(__name__)

STORE = "answers"
VERSION_KEY = "picture-version"
# When the version is gone (expired, a flushed store), a new one is made: every answer is
# rendered once more, nothing worse.
VERSION_TIMEOUT = 7 * 24 * 3600

# Models whose saves change what the public reads. Probe is left out on purpose: its counters
# move on every check; its silence flag is moved by statuspage.picture.silence, which calls
# picture_changed() itself, and "last checked" follows the store's short timer.
PICTURE_MODELS = frozenset(
    {
        "statuspage.Component",
        "statuspage.ComponentGroup",
        "statuspage.Audience",
        "incidents.Incident",
        "incidents.IncidentUpdate",
        "incidents.AffectedComponent",
        "incidents.MessageTemplate",
    }
)


def store() -> BaseCache:
    return caches[STORE]


def new_version() -> str:
    return secrets.token_hex(8)


def current_version() -> str:
    """The version now; made on first use (and after a flush of the store)."""
    cache = store()
    version = cache.get(VERSION_KEY)
    if version is None:
        cache.add(VERSION_KEY, new_version(), VERSION_TIMEOUT)
        version = cache.get(VERSION_KEY)
    return str(version)


def bump() -> None:
    """A new token, never a counter: two writers at once cannot land on the same version."""
    try:
        store().set(VERSION_KEY, new_version(), VERSION_TIMEOUT)
    except Exception:
        # The store is a cache: when it is down, answers are rendered live anyway.
        log.warning("the answer store is unreachable: picture version not moved", exc_info=True)


def picture_changed() -> None:
    """Now, and again once the transaction commits: an answer rendered in between read the
    old rows and was stored under the first new version; the second makes it unreachable.
    The bump on commit is registered once per transaction: an incident opening saves a dozen
    rows, and one bump after them covers them all."""
    bump()
    if not bump_pending():
        transaction.on_commit(bump)


def bump_pending() -> bool:
    """A bump is already waiting for this transaction's commit (a rolled-back savepoint
    drops it, so the next change registers again)."""
    connection = transaction.get_connection()
    return connection.in_atomic_block and any(
        callback is bump for _, callback, *_ in connection.run_on_commit
    )


def on_save(sender: Any, **kwargs: Any) -> None:
    if sender._meta.label in PICTURE_MODELS:
        picture_changed()


def on_m2m(sender: Any, instance: Any, action: str, **kwargs: Any) -> None:
    if action.startswith("post_") and instance._meta.label in PICTURE_MODELS:
        picture_changed()


def connect() -> None:
    """Listen to every model's saves, filtered by label: this layer imports no model."""
    post_save.connect(on_save, dispatch_uid="statuspage.changes.save")
    post_delete.connect(on_save, dispatch_uid="statuspage.changes.delete")
    m2m_changed.connect(on_m2m, dispatch_uid="statuspage.changes.m2m")
