"""The OpenAPI document of the public API, at a stable URL (/api/openapi.json)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml
from django.conf import settings
from django.http import HttpRequest, HttpResponse

from statuspage.public.http import public_json, public_read

DOCUMENT = Path(__file__).with_name("openapi.yaml")
MAX_AGE = 3600


@cache
def load_document() -> dict:
    return yaml.safe_load(DOCUMENT.read_text())


def document() -> dict:
    return {**load_document(), "servers": [{"url": settings.STATUSPAGE["URL"]}]}


@public_read
def openapi(request: HttpRequest) -> HttpResponse:
    return public_json(request, document(), MAX_AGE, per_language=False)
