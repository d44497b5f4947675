"""How every public machine-readable answer leaves us: CORS for any origin, validators
(ETag, Last-Modified) with 304 on revalidation, and a short shared-cache lifetime so a CDN
or proxy absorbs the thundering herd that arrives with an outage."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import datetime
from functools import wraps

from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.utils.cache import get_conditional_response, patch_cache_control, patch_vary_headers
from django.utils.http import http_date, quote_etag
from django.views.decorators.csrf import csrf_exempt

READ_METHODS = ("GET", "HEAD")
PAGE_MAX_AGE = 10
CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Expose-Headers": "ETag, Last-Modified, Date",
}
PREFLIGHT_HEADERS = {
    "Access-Control-Allow-Methods": "GET, HEAD, OPTIONS",
    "Access-Control-Allow-Headers": "If-None-Match, If-Modified-Since, Cache-Control",
    "Access-Control-Max-Age": "86400",
}


def allow_any_origin(response: HttpResponse) -> HttpResponse:
    for name, value in CORS_HEADERS.items():
        response[name] = value
    return response


def public_read(view: Callable) -> Callable:
    """GET and HEAD for everyone, OPTIONS preflight answered, anything else refused with 405."""

    @csrf_exempt
    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if request.method == "OPTIONS":
            response = HttpResponse(status=204)
            for name, value in PREFLIGHT_HEADERS.items():
                response[name] = value
            return allow_any_origin(response)
        if request.method not in READ_METHODS:
            return allow_any_origin(HttpResponseNotAllowed([*READ_METHODS, "OPTIONS"]))
        return view(request, *args, **kwargs)

    return wrapped


def encode(payload: dict) -> bytes:
    return json.dumps(payload, ensure_ascii=False, cls=DjangoJSONEncoder).encode()


def conditional(
    request: HttpRequest,
    body: bytes,
    content_type: str,
    max_age: int,
    last_modified: datetime | None = None,
    per_language: bool = True,
) -> HttpResponse:
    """A cacheable public response, or 304 when the client's copy is still current.

    Answers worded in the reader's language tell caches so (Vary), or a CDN would hand a
    Spanish banner to an English reader."""
    etag = quote_etag(hashlib.sha256(body).hexdigest()[:32])
    modified = int(last_modified.timestamp()) if last_modified else None
    response = HttpResponse(body, content_type=content_type)
    response["ETag"] = etag
    if modified is not None:
        response["Last-Modified"] = http_date(modified)
    patch_cache_control(response, public=True, max_age=max_age)
    if per_language:
        patch_vary_headers(response, ["Accept-Language", "Cookie"])
    response = (
        get_conditional_response(request, etag=etag, last_modified=modified, response=response)
        or response
    )
    return allow_any_origin(response)


def public_json(
    request: HttpRequest,
    payload: dict,
    max_age: int,
    last_modified: datetime | None = None,
    per_language: bool = True,
) -> HttpResponse:
    return conditional(
        request, encode(payload), "application/json", max_age, last_modified, per_language
    )


def public_page(view: Callable) -> Callable:
    """HTML pages may be cached briefly by shared caches, per language choice."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        response = view(request, *args, **kwargs)
        if response.status_code == 200:
            patch_cache_control(response, public=True, max_age=PAGE_MAX_AGE)
            patch_vary_headers(response, ["Cookie"])
        return response

    return wrapped
