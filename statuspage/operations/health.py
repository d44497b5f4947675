"""Readiness: can this node do its work? Each configured database accepts a new connection
and answers a trivial query, and the task broker answers (a Redis PING; the ORM broker is
one of the databases)."""

from __future__ import annotations

import logging

from django.db import connections

from statuspage.operations.readings import q_cluster, redis_client

log = logging.getLogger(__name__)


def database_problem(alias: str) -> str:
    """'' when a new connection to the database answers `SELECT 1`, else what went wrong.

    A connection of its own, closed at once: a node whose pooled connection still works
    while new ones are refused (the server restarting, max_connections reached) is not
    ready, and the request's own connection is left alone.
    """
    database = connections.create_connection(alias)
    try:
        with database.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}".strip()[:300]
    finally:
        database.close()
    return ""


def readiness() -> dict[str, str]:
    """Each dependency ("database:<alias>", "broker:<kind>") and its problem ('' if fine)."""
    checks = {f"database:{alias}": database_problem(alias) for alias in connections}
    config = q_cluster()
    if config.get("redis"):
        try:
            redis_client(config["redis"]).ping()
            checks["broker:redis"] = ""
        except Exception as exc:
            checks["broker:redis"] = f"{type(exc).__name__}: {exc}"[:300]
    else:
        alias = config.get("orm", "default")
        checks[f"broker:orm:{alias}"] = checks.get(f"database:{alias}") or database_problem(alias)
    for what, problem in checks.items():
        if problem:
            log.warning("not ready: %s: %s", what, problem)
    return checks
