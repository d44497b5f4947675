"""Database queries per request served, by route: what `make bench-herd` and /metrics read.

`QueryCountMiddleware` wraps every request in an execute wrapper on the default connection
and adds, per URL route (the pattern, never the raw path, so the labels stay few), one to
the requests counter and the number of queries run to the queries counter. Their ratio over
any window is the queries a route costs per request: 0 for an answer served from a store.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db import connection
from django.http import HttpRequest, HttpResponse
from prometheus_client import Counter

REQUESTS = Counter(
    "statuspage_web_requests",
    "Requests the web workers answered, by URL route.",
    ["route"],
)
QUERIES = Counter(
    "statuspage_web_db_queries",
    "Database queries the web workers ran while answering requests, by URL route.",
    ["route"],
)
UNMATCHED = "(unmatched)"


class QueryTally:
    """An execute wrapper that counts the queries it lets through."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


def route_of(request: HttpRequest) -> str:
    """The URL pattern that answered, as a path: "/" for the page, "/api/v1/banner.json"."""
    match = getattr(request, "resolver_match", None)
    return f"/{match.route}" if match is not None else UNMATCHED


class QueryCountMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        tally = QueryTally()
        with connection.execute_wrapper(tally):
            response = self.get_response(request)
        route = route_of(request)
        REQUESTS.labels(route).inc()
        QUERIES.labels(route).inc(tally.count)
        return response
