"""Audience pages: the public site's own views, rendered for one audience's readers.

`/a/<slug>/...` (members: Django login; staff read every page) and
`/a/<slug>/embed/<token>/...` (anyone holding the audience's signed embed URL) mount the
page, incident permalinks, history, the 8 v2 endpoints, banner.json, feeds and badges. Each
view runs with the audience set in `statuspage.viewer`, so every query of the picture shows
the public rows plus the audience's own (`visible_to`), and with the script prefix moved
under the audience's path, so every link the view reverses stays on its page.

Private answers are rendered live, never from the answer store (whose keys are the public's
and whose entries any reader is served), and leave with `Cache-Control: private, no-store`,
so neither the nginx micro-cache nor a browser cache shares them. A reader who may not see a
page meets what they would meet for a page that does not exist: the page's own sign-in
(`/a/<slug>/login`, statuspage.public.member_login) when signed out, for every slug alike;
404 when signed in, 404 for a bad embed token.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core import signing
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import get_script_prefix, reverse, set_script_prefix
from django.utils.cache import patch_cache_control, patch_vary_headers

from statuspage import viewer
from statuspage.models import Audience

EMBED_SALT = "statuspage.audience.embed"


def embed_token(audience: Audience) -> str:
    """The signed token of the audience's embed URL, at its current key version. Without a
    timestamp (signing.dumps has one), so the URL stays the same until the key is rotated."""
    claim = {"a": audience.id, "v": audience.embed_key_version}
    return signing.Signer(salt=EMBED_SALT).sign_object(claim)


def embed_path(audience: Audience) -> str:
    return f"{audience.page_path}/embed/{embed_token(audience)}/"


def embed_allows(audience: Audience, token: str) -> bool:
    """Signed by us, for this audience, at its current key version, while embedding is on."""
    try:
        claim = signing.Signer(salt=EMBED_SALT).unsign_object(token)
    except signing.BadSignature:
        return False
    return (
        audience.embed_enabled
        and claim.get("a") == audience.id
        and claim.get("v") == audience.embed_key_version
    )


def reader_audience(request: HttpRequest, slug: str, token: str | None) -> Audience:
    """The audience whose page this reader may see, or 404 (the same as no such page)."""
    audience = Audience.objects.filter(slug=slug, private_page=True).first()
    if audience is None:
        raise Http404("No such page.")
    allowed = embed_allows(audience, token) if token else audience.has_member(request.user)
    if not allowed:
        raise Http404("No such page.")
    return audience


def keep_private(response: HttpResponse, embedded: bool) -> HttpResponse:
    """For this reader only: no shared cache (nginx, a CDN) nor browser keeps a copy."""
    if "Cache-Control" in response:
        del response["Cache-Control"]
    patch_cache_control(response, private=True, no_store=True)
    patch_vary_headers(response, ["Cookie"])
    if embedded:
        # The embed URL is the secret; any site holding it may frame the page.
        response.frame_ancestors = "*"  # type: ignore[attr-defined]
        response.xframe_options_exempt = True
    return response


def for_audience(view: Callable, move_prefix: bool = True) -> Callable:
    """Run a public view for the audience named in the URL, if this reader may see it.
    `move_prefix=False` for a flow whose later steps live on the public site (the
    subscription: its confirmation links are reversed while the request runs)."""

    @wraps(view)
    def wrapped(
        request: HttpRequest, audience_slug: str, *args, embed: str | None = None, **kwargs
    ) -> HttpResponse:
        if embed is None and not request.user.is_authenticated:
            login_url = reverse("audience-login", args=[audience_slug])
            signin = redirect_to_login(request.get_full_path(), login_url=login_url)
            return keep_private(signin, False)
        audience = reader_audience(request, audience_slug, embed)
        request.audience_page = audience  # type: ignore[attr-defined]
        request.audience_embedded = embed is not None  # type: ignore[attr-defined]
        # Reversed before the prefix moves, or it would name a path below the page.
        request.audience_logout_url = reverse("audience-logout", args=[audience.slug])  # type: ignore[attr-defined]
        prefix = get_script_prefix()
        page_path = audience.page_path + (f"/embed/{embed}" if embed else "")
        if move_prefix:
            set_script_prefix(f"{prefix}{page_path[1:]}/")
        try:
            with viewer.viewing(audience, page_path if move_prefix else ""):
                response = view(request, *args, **kwargs)
        finally:
            set_script_prefix(prefix)
        return keep_private(response, embed is not None)

    return wrapped
