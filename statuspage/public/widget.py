"""/widget/banner.js: the dependency-free banner script any web app can include.

The script is a template so its few words are translated like the rest of the site.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string

from statuspage.public.http import conditional, public_read

WIDGET_MAX_AGE = 300


def render_banner_js() -> bytes:
    return render_to_string("statuspage/widget/banner.js").encode()


@public_read
def banner_js(request: HttpRequest) -> HttpResponse:
    return conditional(
        request, render_banner_js(), "application/javascript; charset=utf-8", WIDGET_MAX_AGE
    )
