"""Members' sign-in by an emailed one-time link: "Email me a sign-in link" on an audience
page's sign-in (`/a/<slug>/login/link`), and the link itself (`/a/<slug>/login/link/<token>`).

For a member who forgot their password, or who was invited and never set one. Asking reads
no audience nor user row: whatever the address and the slug, the request passes the limiter
(scope "member-link": per client and per address, as the console's link request does), queues
`send_link` and answers the same page, so nobody learns who reads a page, nor that it exists.
The task looks the reader up (a member of that audience, or staff, active, with that email),
records a `MemberSignInLink` and sends its signed id through the email channel, as the staff
link (incidents.console.signin) and invitations are sent (`notifiers.delivery.direct.email_one`).

The staff link's token (a digest of the user's state, stored nowhere) is not reused: this one
must be spent in the database whatever the process and tell a used link from an expired or a
forged one, so it is a row, as an invitation is. It lives here, not in incidents.console,
because the audience pages are ours and the layers forbid statuspage.public to import the
console; what both share, the sending, sits below both in notifiers.delivery.

Opening the link (GET) shows a button; only POST spends it and signs in (mail scanners
prefetch links), then lands on `/a/<slug>/`. It works for the page it was asked on only.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import login
from django.contrib.auth.models import User
from django.core import signing
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from notifiers.channels.context import absolute
from notifiers.delivery.direct import email_one
from notifiers.delivery.dispatch import enqueue
from notifiers.ratelimit import wait_seconds
from statuspage import clock
from statuspage.clients import client_key
from statuspage.models import Audience, MemberSignInLink
from statuspage.public.member_login import LinkRequestForm, page_path, slug_label

SCOPE = "member-link"
SALT = "statuspage.public.member_link"
TASK = "statuspage.public.member_link.send_link"
INVALID = "invalid"


def max_age() -> timedelta:
    return timedelta(seconds=settings.LOGIN_THROTTLE["MEMBER_LINK_MAX_AGE_SECONDS"])


def reader_with_email(audience: Audience, email: str) -> User | None:
    """The active member of this audience, or staff, whose email this is."""
    readers = User.objects.filter(is_active=True, email__iexact=email).filter(
        Q(is_staff=True) | Q(audience_memberships__audience=audience)
    )
    return readers.order_by("pk").first()


def send_link(audience_slug: str, email: str, language: str) -> bool:
    """The task: record a link for the page's reader with this email and send it, in the
    language the page was read in; False (nothing sent) for anyone else or no such page."""
    audience = Audience.objects.filter(slug=audience_slug, private_page=True).first()
    user = reader_with_email(audience, email) if audience is not None else None
    if audience is None or user is None:
        return False
    now = clock.now()
    link = MemberSignInLink.objects.create(
        audience=audience, user=user, created_at=now, expires_at=now + max_age()
    )
    token = signing.dumps({"l": link.id}, salt=SALT)
    with translation.override(language):
        context = {
            "page_name": settings.STATUSPAGE["NAME"],
            "audience": audience.name,
            "link": absolute(reverse("audience-login-link", args=[audience.slug, token])),
            "minutes": max_age() // timedelta(minutes=1),
        }
        return email_one("member_login_link", context, user.email)


@never_cache
@require_http_methods(["GET", "POST"])
def request_link(request: HttpRequest, audience_slug: str) -> HttpResponse:
    """The same answer for every address and every slug: nobody learns who reads a page."""
    form = LinkRequestForm(request.POST or None)
    context = {
        "link_form": form,
        "audience_slug": audience_slug,
        "audience_label": slug_label(audience_slug),
        "minutes": max_age() // timedelta(minutes=1),
    }
    if request.method == "POST" and form.is_valid():
        email = form.cleaned_data["email"].strip().lower()
        wait = wait_seconds(SCOPE, client_key(request), email, clock.now())
        if wait:
            context["wait_minutes"] = max(1, math.ceil(wait / 60))
            response = render(request, "statuspage/member_link_request.html", context, status=429)
            response["Retry-After"] = str(wait)
            return response
        enqueue(TASK, audience_slug, email, translation.get_language())
        return render(request, "statuspage/member_link_sent.html", context)
    status = 400 if request.method == "POST" else 200
    return render(request, "statuspage/member_link_request.html", context, status=status)


def link_state(audience_slug: str, token: str) -> tuple[MemberSignInLink | None, str]:
    """The link and whether it is usable, used or expired; INVALID when forged, for another
    page, or its reader may no longer read the page."""
    try:
        data = signing.loads(token, salt=SALT)
    except signing.BadSignature:
        return None, INVALID
    link_id = data.get("l") if isinstance(data, dict) else None
    if not isinstance(link_id, int):
        return None, INVALID
    link = MemberSignInLink.objects.select_related("audience", "user").filter(id=link_id).first()
    if link is None or link.audience.slug != audience_slug or not link.audience.private_page:
        return None, INVALID
    if not link.audience.has_member(link.user):
        return None, INVALID
    return link, link.state(clock.now())


@never_cache
@require_http_methods(["GET", "POST"])
def link_login(request: HttpRequest, audience_slug: str, token: str) -> HttpResponse:
    """GET shows a button and POST spends the link and signs in: a scanner uses nothing."""
    link, state = link_state(audience_slug, token)
    if link is not None and state == MemberSignInLink.USABLE and request.method == "POST":
        if link.use(clock.now()):
            login(request, link.user, backend="django.contrib.auth.backends.ModelBackend")
            return redirect(page_path(audience_slug))
        link.refresh_from_db()
        state = link.state(clock.now())  # spent by another click a moment ago
    context = {
        "state": state,
        "audience_slug": audience_slug,
        "audience_label": slug_label(audience_slug),
    }
    status = 200 if state == MemberSignInLink.USABLE else 400
    return render(request, "statuspage/member_link.html", context, status=status)


# A link's row is kept this long past its expiry, so a late click is still told "expired"
# rather than "not valid"; then nothing is left for it to refuse.
KEEP_EXPIRED = timedelta(days=7)


def forget_old_links(now: datetime) -> int:
    """Housekeeping job: delete sign-in links expired more than KEEP_EXPIRED ago."""
    return MemberSignInLink.objects.filter(expires_at__lt=now - KEEP_EXPIRED).delete()[0]
