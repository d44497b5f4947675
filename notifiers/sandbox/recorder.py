"""The sandbox's memory: every message a provider route accepted, in arrival order."""

from __future__ import annotations

import builtins
import copy
import threading
import uuid
from typing import Any, TypedDict

from aiohttp import web

from notifiers.sandbox import clock


class Preview(TypedDict):
    """What a phone or inbox would show at a glance (push title/body, email subject...)."""

    title: str
    body: str


class Record(TypedDict):
    id: str
    provider: str
    kind: str
    received_at: str
    target: str
    payload: Any
    preview: Preview


class Recorder:
    """Thread-safe in-memory store of received messages.

    Provider routes add records on the sandbox's event-loop thread while tests and the
    management command read them from other threads, hence the lock and the copies.
    """

    def __init__(self, limit: int | None = None) -> None:
        self._lock = threading.Lock()
        self._records: builtins.list[Record] = []
        # Benchmarks send millions: past ``limit`` only the newest records are kept,
        # while ``counts`` still counts every message received.
        self._limit = limit
        self._counts: dict[str, int] = {}

    def add(
        self,
        provider: str,
        kind: str,
        target: str,
        payload: Any,
        preview: Preview | None = None,
    ) -> Record:
        record = Record(
            id=uuid.uuid4().hex,
            provider=provider,
            kind=kind,
            received_at=clock.isoformat(clock.now()),
            target=target,
            payload=copy.deepcopy(payload),
            preview=preview or Preview(title="", body=""),
        )
        with self._lock:
            self._records.append(record)
            key = f"{provider}/{kind}"
            self._counts[key] = self._counts.get(key, 0) + 1
            if self._limit is not None and len(self._records) > self._limit * 2:
                del self._records[: -self._limit]
        return record if self._limit is not None else copy.deepcopy(record)

    def counts(self) -> dict[str, int]:
        """Messages received per "provider/kind" since the last clear, kept or not."""
        with self._lock:
            return dict(self._counts)

    def by_target(self, provider: str, kind: str | None = None) -> dict[str, dict[str, int]]:
        """For each target of one provider (a phone, an inbox): how many messages it got and
        how many different texts among them, so a test counts lost and duplicate sends
        without downloading every message."""
        texts: dict[str, builtins.list[str]] = {}
        with self._lock:
            for record in self._records:
                if record["provider"] == provider and (kind is None or record["kind"] == kind):
                    texts.setdefault(record["target"], []).append(record["preview"]["body"])
        return {
            target: {"count": len(bodies), "distinct": len(set(bodies))}
            for target, bodies in texts.items()
        }

    def list(self, provider: str | None = None, target: str | None = None) -> builtins.list[Record]:
        """Records oldest first, optionally only one provider's and/or one target's."""
        with self._lock:
            matching = [
                record
                for record in self._records
                if (provider is None or record["provider"] == provider)
                and (target is None or record["target"] == target)
            ]
        return copy.deepcopy(matching)

    def clear(self, provider: str | None = None) -> None:
        with self._lock:
            if provider is None:
                self._records.clear()
                self._counts.clear()
            else:
                self._records = [r for r in self._records if r["provider"] != provider]


RECORDER_KEY = web.AppKey("recorder", Recorder)
