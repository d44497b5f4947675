"""/metrics counts the database queries each route's requests cost, so a benchmark (and an
operator) can tell an answer served from a store (0 per request) from one built each time."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from prometheus_client import REGISTRY

from tests.factories import make_component

BANNER = "/api/v1/banner.json"


def counted(name: str, route: str) -> float:
    return REGISTRY.get_sample_value(f"statuspage_web_{name}_total", {"route": route}) or 0.0


@pytest.mark.django_db
def test_each_request_adds_its_route_and_the_queries_it_ran(client):
    make_component()
    requests_before, queries_before = counted("requests", BANNER), counted("db_queries", BANNER)
    with CaptureQueriesContext(connection) as ran:
        client.get("/api/v1/banner.json")
        client.get("/api/v1/banner.json")
    assert counted("requests", BANNER) - requests_before == 2
    assert counted("db_queries", BANNER) - queries_before == len(ran) > 0


@pytest.mark.django_db
def test_a_request_without_queries_counts_zero(client):
    before = counted("db_queries", "/healthz")
    client.get("/healthz")
    assert counted("requests", "/healthz") >= 1
    assert counted("db_queries", "/healthz") == before


@pytest.mark.django_db
def test_the_page_counts_under_its_own_route(client):
    make_component()
    before = counted("requests", "/")
    client.get("/")
    assert counted("requests", "/") == before + 1
    assert counted("db_queries", "/") > 0


@pytest.mark.django_db
def test_an_unknown_path_counts_under_one_label_not_its_own(client):
    before = counted("requests", "(unmatched)")
    client.get("/no/such/page/12345")
    assert counted("requests", "(unmatched)") == before + 1
    assert (
        REGISTRY.get_sample_value("statuspage_web_requests_total", {"route": "/no/such/page/12345"})
        is None
    )
