"""Benchmark: what the answer store saves per request, and which local store to use.

Seeds the public site of bench/public_site.py (N components, 90 days of bars, 60
incidents), then measures in-process, through Django's full middleware stack, the CPU time
per request (time.process_time) of banner.json, summary.json and the page: rendered live
(the store off, as before it), answered from the store, and revalidated with a matching
ETag (304). In the same run: /widget/banner.js (a template, no database) as the baseline,
and a stored summary.json read from each local backend (files, per-process memory, the
database cache) to show why files are the local default. Medians of ROUNDS rounds.

    make bench-answers          # or: .venv/bin/python bench/answer_store.py [components]

BENCH_REDIS_URL=redis://127.0.0.1:6379/N adds Redis to the backends compared (its keys carry
a prefix of their own and expire; nothing is flushed).
"""

from __future__ import annotations

import os
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.public_site import ROUNDS, seed, setup_django, timed  # noqa: E402

REQUESTS = 40


def cpu_per_request(client, path: str, **headers) -> float:
    return timed(client, path, clock=time.process_time, requests=REQUESTS, **headers)


def backends(var_dir: str) -> dict[str, dict]:
    redis = {}
    if os.environ.get("BENCH_REDIS_URL"):
        redis["Redis (RedisCache, BENCH_REDIS_URL)"] = {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": os.environ["BENCH_REDIS_URL"],
            "KEY_PREFIX": f"bench-answers-{os.getpid()}",
        }
    return {
        **redis,
        "files (FileBasedCache, the local default)": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": f"{var_dir}/answers-bench",
        },
        "per-process memory (LocMemCache)": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "answers-bench",
        },
        "database (DatabaseCache)": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "answers_bench",
        },
    }


def main() -> None:
    components = int(sys.argv[1]) if len(sys.argv) > 1 else 30
    with tempfile.TemporaryDirectory() as var_dir:
        setup_django(var_dir)
        seed(components)
        from django.conf import settings
        from django.core.management import call_command
        from django.db import connection, reset_queries
        from django.test import Client
        from django.test.utils import CaptureQueriesContext, override_settings

        client = Client(HTTP_HOST="127.0.0.1")
        base = cpu_per_request(client, "/widget/banner.js")
        rows = []
        for label, path in [
            ("/api/v1/banner.json", "/api/v1/banner.json"),
            ("/api/v2/summary.json", "/api/v2/summary.json"),
            (f"/ (page, {components} components)", "/"),
        ]:
            with override_settings(ANSWERS={**settings.ANSWERS, "ENABLED": False}):
                live = cpu_per_request(client, path)
            etag = client.get(path)["ETag"]
            stored = cpu_per_request(client, path)
            revalidated = cpu_per_request(client, path, HTTP_IF_NONE_MATCH=etag)
            rows.append((label, live, stored, revalidated))

        call_command("createcachetable", "answers_bench", verbosity=0)
        stores = []
        for label, config in backends(var_dir).items():
            with override_settings(CACHES={**settings.CACHES, "answers": config}):
                client.get("/api/v2/summary.json")
                reset_queries()  # DEBUG's query log is full after seeding: counts would read 0
                with CaptureQueriesContext(connection) as queries:
                    client.get("/api/v2/summary.json")
                stores.append(
                    (label, cpu_per_request(client, "/api/v2/summary.json"), len(queries))
                )

    print(
        f"# answer store, {components} components, 60 incidents; "
        f"{platform.processor() or platform.machine()}, Python {platform.python_version()}"
    )
    print(f"# CPU ms per request, median of {ROUNDS} rounds x {REQUESTS}, in-process")
    print(f"# baseline /widget/banner.js (no database): {base * 1000:.2f} ms")
    print("| answer | live | stored | stored, 304 | live / stored |")
    print("|---|---:|---:|---:|---:|")
    for label, live, stored, revalidated in rows:
        print(
            f"| {label} | {live * 1000:.2f} | {stored * 1000:.2f} | {revalidated * 1000:.2f} "
            f"| {live / stored:.0f}x |"
        )
    print()
    print("| local store for a stored summary.json | CPU ms | queries | shared by workers |")
    print("|---|---:|---:|---|")
    for label, seconds, queries in stores:
        shared = "no" if "LocMem" in label else "yes"
        print(f"| {label} | {seconds * 1000:.2f} | {queries} | {shared} |")


if __name__ == "__main__":
    main()
