"""The probe agent's side: run the assigned checks on their intervals, push the results.

It needs no database: assignments arrive as JSON and become the same check objects the
engine runs. Results are buffered and pushed in batches; a failed push is kept and tried
again (bounded), after the server's Retry-After when it answers 429; a refused one (400) is
logged and dropped, since resending cannot fix it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from dataclasses import dataclass, field

import aiohttp

from statuspage import clock
from statuspage.checks import Check, build_check
from statuspage.checks.http import new_session
from statuspage.models import Probe

log = logging.getLogger(__name__)

REFRESH_SECONDS = 60
PUSH_SECONDS = 2
MAX_BUFFER = 100_000


class AgentError(Exception):
    """A problem the operator must fix (wrong token, wrong region)."""


@dataclass
class Assignment:
    check: Check
    interval: float
    next_run: float = 0.0


@dataclass
class Agent:
    server: str
    token: str
    region: str
    concurrency: int = 100
    assignments: dict[int, Assignment] = field(default_factory=dict)
    buffer: deque = field(default_factory=lambda: deque(maxlen=MAX_BUFFER))
    # A rate-limited push (429) waits for the server's Retry-After before the next one.
    resume_at: float = 0.0

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def refresh(self, api: aiohttp.ClientSession) -> None:
        async with api.get(f"{self.server}/api/agent/v1/assignments", headers=self.headers) as r:
            if r.status == 401:
                raise AgentError("the server refused the token")
            r.raise_for_status()
            body = await r.json()
        if body["region"] != self.region:
            raise AgentError(
                f"this token belongs to region {body['region']!r}, not {self.region!r}"
            )
        fresh = {}
        for spec in body["probes"]:
            old = self.assignments.get(spec["id"])
            check = build_check(Probe(**spec))
            fresh[spec["id"]] = Assignment(
                check, spec["interval_seconds"], old.next_run if old else 0
            )
        self.assignments = fresh

    async def run_check(self, session, assignment: Assignment) -> None:
        checked_at = clock.now()
        outcome = await assignment.check.run(session)
        if outcome is None:  # a heartbeat's, judged by the server, which never assigns one
            return
        self.buffer.append(
            {
                "probe_id": assignment.check.probe_id,
                "checked_at": checked_at.isoformat(),
                "ok": outcome.ok,
                "latency_ms": outcome.latency_ms,
                "status_code": outcome.status_code,
                "error": outcome.error,
                "warning": outcome.warning,
                "status": outcome.status,
            }
        )

    async def run_due(self, session, force: bool = False) -> list[asyncio.Task]:
        now = time.monotonic()
        tasks = []
        for assignment in self.assignments.values():
            if force or assignment.next_run <= now:
                base = assignment.next_run or now
                assignment.next_run = max(base + assignment.interval, now)
                tasks.append(asyncio.create_task(self.run_check(session, assignment)))
        return tasks

    async def push(self, api: aiohttp.ClientSession) -> int:
        if not self.buffer:
            return 0
        batch = [self.buffer.popleft() for _ in range(min(len(self.buffer), 5000))]
        try:
            async with api.post(
                f"{self.server}/api/agent/v1/results", json={"results": batch}, headers=self.headers
            ) as r:
                if r.status == 400:
                    log.error("server refused %d results: %s", len(batch), await r.text())
                    return 0
                if r.status == 429:
                    wait = float(r.headers.get("Retry-After") or PUSH_SECONDS)
                    log.warning("the server asks us to slow down; next push in %g s", wait)
                    self.resume_at = time.monotonic() + wait
                    self.buffer.extendleft(reversed(batch))
                    return 0
                r.raise_for_status()
                return len(batch)
        except (TimeoutError, aiohttp.ClientError) as error:
            log.warning("pushing results failed (%s); keeping them for the next try", error)
            self.buffer.extendleft(reversed(batch))
            return 0

    async def run_once(self) -> int:
        """Fetch assignments, run every check once, push: what tests and `--once` use."""
        async with new_api() as api, new_session(self.concurrency, self.region) as session:
            await self.refresh(api)
            await asyncio.gather(*await self.run_due(session, force=True))
            return await self.push(api)

    async def run(self, stop: asyncio.Event) -> None:
        async with new_api() as api, new_session(self.concurrency, self.region) as session:
            last_refresh = last_push = 0.0
            in_flight: set[asyncio.Task] = set()
            while not stop.is_set():
                now = time.monotonic()
                if now - last_refresh >= REFRESH_SECONDS:
                    last_refresh = now
                    try:
                        await self.refresh(api)
                    except (TimeoutError, aiohttp.ClientError) as error:
                        log.warning("cannot fetch assignments (%s); keeping the old ones", error)
                for task in await self.run_due(session):
                    in_flight.add(task)
                    task.add_done_callback(in_flight.discard)
                if now - last_push >= PUSH_SECONDS and now >= self.resume_at:
                    last_push = now
                    await self.push(api)
                try:
                    await asyncio.wait_for(stop.wait(), timeout=0.5)
                except TimeoutError:
                    pass
            await asyncio.gather(*in_flight, return_exceptions=True)
            await self.push(api)


def new_api() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
