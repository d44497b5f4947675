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
