"""Branding every public page carries: name, logo, accent colour and support links."""

from __future__ import annotations

import re

from django.conf import settings

HEX_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")


def brand_colour(value: str) -> str:
    """Only a plain #rrggbb reaches the page's inline style; anything else is ignored."""
    return value if HEX_COLOUR.match(value or "") else ""


def branding(request) -> dict:
    page = settings.STATUSPAGE
    return {
        "page_name": page["NAME"],
        "support_url": page["SUPPORT_URL"],
        "logo_url": page.get("LOGO_URL", ""),
        "home_url": page.get("HOME_URL", ""),
        "brand_colour": brand_colour(page.get("BRAND_COLOUR", "")),
    }


def audience_page(request) -> dict:
    """On an audience's private page: whose page it is, and for a signed-in reader (not an
    embed) who they are and a way to sign out. Nothing on the public pages."""
    audience = getattr(request, "audience_page", None)
    if audience is None:
        return {}
    signed_in = not request.audience_embedded and request.user.is_authenticated
    return {
        "audience_page": audience,
        "audience_reader": request.user if signed_in else None,
        "audience_logout_url": request.audience_logout_url,
    }
