"""The OpenAPI document: valid OpenAPI 3.1, every documented JSON answer matches its schema on
real data, and every public machine-readable route is documented."""

from __future__ import annotations

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from statuspage.public.urls import public_urlpatterns
from tests.clock import NOW
from tests.factories import open_outage_at, resolve_at

pytestmark = pytest.mark.django_db


@pytest.fixture
def document(client):
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "*"
    return response.json()


def response_validator(document: dict, path: str) -> Draft202012Validator:
    answer = document["paths"][path]["get"]["responses"]["200"]
    if "$ref" in answer:
        answer = document["components"]["responses"][answer["$ref"].rsplit("/", 1)[-1]]
    schema = answer["content"]["application/json"]["schema"]
    registry = Registry().with_resource(
        "urn:openapi", Resource.from_contents(document, default_specification=DRAFT202012)
    )
    ref = schema["$ref"].replace("#", "urn:openapi#")
    return Draft202012Validator({"$ref": ref}, registry=registry)


def test_the_document_is_valid_openapi_and_names_our_server(document, settings):
    validate(document)
    assert document["openapi"].startswith("3.1")
    assert document["servers"] == [{"url": settings.STATUSPAGE["URL"]}]


def test_every_json_answer_matches_its_documented_schema(client, document):
    resolve_at(open_outage_at(NOW), NOW.replace(hour=2))
    open_outage_at(NOW.replace(hour=3), name="Share upload", audience="share-app")
    json_paths = [
        p
        for p, item in document["paths"].items()
        if "application/json" in str(item["get"]["responses"]["200"])
        or "$ref" in item["get"]["responses"]["200"]
        and "Badge" not in item["get"]["responses"]["200"]["$ref"]
    ]
    assert len(json_paths) == 9
    for path in json_paths:
        body = client.get(path, {"audience": "share-app"} if "banner" in path else {}).json()
        errors = [e.message for e in response_validator(document, path).iter_errors(body)]
        assert errors == [], path


def test_every_public_route_is_documented(document):
    documented = set(document["paths"])
    for pattern in public_urlpatterns:
        route = "/" + str(pattern.pattern).replace("<str:public_id>", "{component_id}")
        if route.startswith(("/language/", "/api/openapi")):
            continue
        assert route in documented, route
