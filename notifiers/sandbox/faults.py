"""Fault injection: make a provider slow, flaky, rate-limited or down, per provider.

A profile is set for one provider name ("fcm", "google_oauth", later "twilio"...) or for
"*", which applies to every provider without a profile of its own. Setting a profile
replaces the previous one for that name. Each failing request is answered in the provider's
own error shape (the provider module supplies the renderer), so the real SDKs map it to
their real exception classes.

Order of decisions for a request: latency always applies; then an outage fails it, else a
pending ``fail_next`` fails it (deterministic, for exact tests), else ``error_rate`` does
(seedable). ``disconnect`` makes failures close the connection without any response
instead of answering ``error_status``.

A profile may be timed: it starts ``delay_s`` after it is set and, with ``duration_s``,
ends by itself that long after it started (an outage window: "down for 30 s from now").
Time comes from the sandbox's clock seam (``notifiers.sandbox.clock``), so tests move
time instead of sleeping. An ended profile is forgotten and the provider answers normally.
"""

from __future__ import annotations

import asyncio
import functools
import random
import threading
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from aiohttp import web

from notifiers.sandbox import clock

ANY_PROVIDER = "*"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
ErrorRenderer = Callable[[int, str], web.Response]
"""Builds a provider-shaped error response from an HTTP status and a message."""


@dataclass(frozen=True)
class FaultProfile:
    latency_ms: int = 0
    error_rate: float = 0.0
    error_status: int = 503
    retry_after: int | None = None
    fail_next: int = 0
    outage: bool = False
    disconnect: bool = False
    seed: int | None = None
    # A window: starts delay_s after being set, lasts duration_s (None: until cleared).
    delay_s: float = 0.0
    duration_s: float | None = None

    def __post_init__(self) -> None:
        _check(self.latency_ms >= 0, "latency_ms must be >= 0")
        _check(0.0 <= self.error_rate <= 1.0, "error_rate must be between 0 and 1")
        _check(400 <= self.error_status <= 599, "error_status must be a 4xx or 5xx status")
        _check(self.retry_after is None or self.retry_after >= 0, "retry_after must be >= 0")
        _check(self.fail_next >= 0, "fail_next must be >= 0")
        _check(self.delay_s >= 0, "delay_s must be >= 0")
        _check(self.duration_s is None or self.duration_s > 0, "duration_s must be > 0")

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FaultProfile:
        """Build a profile from a JSON object; raises ValueError on unknown or mistyped keys."""
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(data) - set(known))
        _check(not unknown, f"unknown fault fields: {', '.join(unknown)}")
        for name, value in data.items():
            _check(_json_type_ok(known[name].type, value), f"{name} has the wrong type")
        return cls(**data)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class FaultDecision:
    latency_s: float = 0.0
    status: int | None = None
    retry_after: int | None = None
    disconnect: bool = False


@dataclass
class _ProviderState:
    profile: FaultProfile
    pending_failures: int
    starts_at: float
    ends_at: float | None
    rng: random.Random = field(repr=False)

    @classmethod
    def start(cls, profile: FaultProfile, now: float) -> _ProviderState:
        starts_at = now + profile.delay_s
        ends_at = None if profile.duration_s is None else starts_at + profile.duration_s
        return cls(profile, profile.fail_next, starts_at, ends_at, random.Random(profile.seed))

    def started(self, now: float) -> bool:
        return now >= self.starts_at

    def ended(self, now: float) -> bool:
        return self.ends_at is not None and now >= self.ends_at

    def to_json(self, now: float) -> dict[str, Any]:
        return {
            **self.profile.to_json(),
            "fail_next": self.pending_failures,
            "active": self.started(now),
            "starts_at": clock.isoformat(self.starts_at),
            "ends_at": None if self.ends_at is None else clock.isoformat(self.ends_at),
        }

    def fails(self) -> bool:
        if self.profile.outage:
            return True
        if self.pending_failures:
            self.pending_failures -= 1
            return True
        return self.profile.error_rate > 0 and self.rng.random() < self.profile.error_rate


@dataclass
class _Stats:
    requests: int = 0
    injected: int = 0


class FaultInjector:
    """Thread-safe fault state, shared by every provider route of one sandbox app."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._states: dict[str, _ProviderState] = {}
        self._stats: dict[str, _Stats] = {}

    def set(self, provider: str, profile: FaultProfile) -> None:
        with self._lock:
            self._states[provider] = _ProviderState.start(profile, clock.now())

    def clear(self, provider: str | None = None) -> None:
        """Forget profiles and counters, of one provider or of all."""
        with self._lock:
            if provider is None:
                self._states.clear()
                self._stats.clear()
            else:
                self._states.pop(provider, None)
                self._stats.pop(provider, None)

    def decide(self, provider: str) -> FaultDecision:
        """What to do with one incoming request to ``provider``; counts it."""
        with self._lock:
            stats = self._stats.setdefault(provider, _Stats())
            stats.requests += 1
            now = self._forget_ended()
            state = self._states.get(provider) or self._states.get(ANY_PROVIDER)
            if state is None or not state.started(now):
                return FaultDecision()
            failing = state.fails()
            if failing:
                stats.injected += 1
        return _decision(state.profile, failing)

    def snapshot(self) -> dict[str, Any]:
        """Profiles still in force or waiting (with remaining ``fail_next``, whether active
        and their window) and per-provider request counters."""
        with self._lock:
            now = self._forget_ended()
            profiles = {name: state.to_json(now) for name, state in self._states.items()}
            stats = {name: asdict(s) for name, s in self._stats.items()}
        return {"profiles": profiles, "stats": stats}

    def _forget_ended(self) -> float:
        """Drop profiles whose window is over; returns the time it checked against."""
        now = clock.now()
        for name in [n for n, state in self._states.items() if state.ended(now)]:
            del self._states[name]
        return now


def inject_faults(provider: str, render_error: ErrorRenderer) -> Callable[[Handler], Handler]:
    """Decorate a provider route so the app's FaultInjector can delay or fail it."""

    def decorate(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def guarded(request: web.Request) -> web.StreamResponse:
            decision = request.app[FAULTS_KEY].decide(provider)
            if decision.latency_s:
                await asyncio.sleep(decision.latency_s)
            if decision.disconnect:
                return await _drop_connection(request)
            if decision.status is not None:
                return _injected_error(render_error, decision)
            return await handler(request)

        return guarded

    return decorate


def _decision(profile: FaultProfile, failing: bool) -> FaultDecision:
    latency_s = profile.latency_ms / 1000
    if not failing:
        return FaultDecision(latency_s=latency_s)
    if profile.disconnect:
        return FaultDecision(latency_s=latency_s, disconnect=True)
    return FaultDecision(latency_s, profile.error_status, profile.retry_after)


def _injected_error(render_error: ErrorRenderer, decision: FaultDecision) -> web.Response:
    assert decision.status is not None
    response = render_error(decision.status, "Injected by the provider sandbox.")
    if decision.retry_after is not None:
        response.headers["Retry-After"] = str(decision.retry_after)
    return response


async def _drop_connection(request: web.Request) -> web.Response:
    """Close the socket without answering, as a crashed or unreachable provider would.

    aiohttp then fails to write the returned response and treats it as a client reset.
    """
    await request.read()
    if request.transport is not None:
        request.transport.close()
    return web.Response(status=503)


def _json_type_ok(annotation: Any, value: Any) -> bool:
    """Whether a JSON value fits a profile field (annotations are strings here)."""
    expected = {
        "int": (int,),
        "float": (int, float),
        "bool": (bool,),
        "int | None": (int, type(None)),
        "float | None": (int, float, type(None)),
    }[str(annotation)]
    if isinstance(value, bool) and bool not in expected:
        return False
    return isinstance(value, expected)


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)


FAULTS_KEY = web.AppKey("faults", FaultInjector)
