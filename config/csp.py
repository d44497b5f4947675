"""Content-Security-Policy on every response: our own scripts, styles and images only.

The one inline thing we serve is the brand colour's `<style>` (base.html), allowed by its
SHA-256 rather than by a nonce, so a page stays the same bytes for every visitor and can be
cached. A response that sets its own policy keeps it. What a site embedding our widget must
allow is in docs/ARCHITECTURE-public.md ("Content-Security-Policy").
"""

from __future__ import annotations

import base64
import functools
import hashlib
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from statuspage.public.context_processors import brand_colour

BASE = (
    "default-src 'self'; script-src 'self'; img-src 'self' data:; object-src 'none'; "
    "base-uri 'self'; form-action 'self'"
)


@functools.lru_cache(maxsize=8)
def policy(colour: str, frame_ancestors: str = "'none'") -> str:
    """`frame_ancestors`: who may frame the response; nobody, but an audience's signed
    embed URL (statuspage.public.private), which any site holding it may frame."""
    styles = "style-src 'self'"
    if colour:
        inline = f":root {{ --brand: {colour}; }}".encode()
        digest = base64.b64encode(hashlib.sha256(inline).digest()).decode()
        styles += f" 'sha256-{digest}'"
    return f"{BASE}; frame-ancestors {frame_ancestors}; {styles}"


def content_security_policy(get_response: Callable) -> Callable:
    def middleware(request: HttpRequest) -> HttpResponse:
        response = get_response(request)
        if "Content-Security-Policy" not in response:
            colour = brand_colour(settings.STATUSPAGE.get("BRAND_COLOUR", ""))
            framed = getattr(response, "frame_ancestors", None)
            response["Content-Security-Policy"] = policy(colour, framed or "'none'")
        return response

    return middleware
