"""The audiences, read-only, so a script finds the slugs `private_to` takes (admins edit
them in the admin). Anyone who reads incidents may list them: an incident's `private_to`
names them already, and support staff open private incidents in the console too."""

from __future__ import annotations

from django.db.models import Count
from django.http import HttpRequest, JsonResponse

from incidents.console.api import handle, not_allowed, reply
from incidents.console.api_auth import api_view
from statuspage.models import Audience


@api_view("incidents.view_incident")
@handle
def audiences(request: HttpRequest) -> JsonResponse:
    if request.method != "GET":
        return not_allowed("GET")
    rows = Audience.objects.annotate(member_count=Count("members")).order_by("slug")
    return reply(
        {
            "audiences": [
                {
                    "slug": a.slug,
                    "name": a.name,
                    "private_page": a.private_page,
                    "member_count": a.member_count,
                }
                for a in rows
            ]
        }
    )
