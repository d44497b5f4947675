"""The benchmark's monitored fleet: one aiohttp server on loopback answering /t/<n> with a
realistic mix, decided by n so every run sees the same mix: most answer in 20-300 ms, a few
are slow past the probes' timeout, a few fail with 503. It counts the checks it received
(GET /_hits), so a benchmark can tell a check run twice from one run once."""

from __future__ import annotations

import asyncio
import random

from aiohttp import web

SLOW_EVERY = 50  # 2% hang past the probe timeout
FAIL_EVERY = 33  # about 3% answer 503
SLOW_SECONDS = 8.0
HITS = [0]


def latency_for(n: int) -> float:
    """20-300 ms, skewed towards the fast end like real APIs (seeded per target)."""
    rng = random.Random(n)
    return 0.020 + 0.280 * rng.random() ** 2


async def target(request: web.Request) -> web.Response:
    HITS[0] += 1
    n = int(request.match_info["n"])
    if n % SLOW_EVERY == 7:
        await asyncio.sleep(SLOW_SECONDS)
    else:
        await asyncio.sleep(latency_for(n))
    if n % FAIL_EVERY == 5:
        return web.Response(status=503, text="backlog")
    return web.json_response({"status": "ok", "queue": {"depth": n % 100}})


async def hits(request: web.Request) -> web.Response:
    return web.json_response({"hits": HITS[0]})


def serve(port: int) -> None:
    app = web.Application()
    app.router.add_get("/t/{n}", target)
    app.router.add_get("/_hits", hits)
    web.run_app(
        app,
        host="127.0.0.1",
        port=port,
        print=None,
        access_log=None,
        backlog=4096,
        handle_signals=True,
    )
