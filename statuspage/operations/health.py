"""Readiness: can this node do its work? Every database it is configured with answers a
trivial query, and the task broker answers (a Redis PING, or the database the ORM broker
lives in)."""

from __future__ import annotations

import logging

from django.db import connections

from statuspage.operations.readings import q_cluster, redis_client

log = logging.getLogger(__name__)


def database_problem(alias: str) -> str:
    """'' when the database answers `SELECT 1`, else what went wrong."""
    try:
        with connections[alias].cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:
        connections[alias].close()  # the next request connects afresh
        return f"{type(exc).__name__}: {exc}".strip()[:300]
    return ""


def broker_problem() -> tuple[str, str]:
    """The broker's name and '' when it answers, else what went wrong."""
    config = q_cluster()
    if config.get("redis"):
        try:
            redis_client(config["redis"]).ping()
        except Exception as exc:
            return "redis", f"{type(exc).__name__}: {exc}"[:300]
        return "redis", ""
    alias = config.get("orm", "default")
    return f"orm:{alias}", database_problem(alias)


def readiness() -> dict[str, str]:
    """Each dependency and its problem ('' when fine)."""
    checks = {f"database:{alias}": database_problem(alias) for alias in connections}
    name, problem = broker_problem()
    checks[f"broker:{name}"] = problem
    for what, problem in checks.items():
        if problem:
            log.warning("not ready: %s: %s", what, problem)
    return checks
