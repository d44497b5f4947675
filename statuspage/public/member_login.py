"""The sign-in page of audience pages (`/a/<slug>/login`), for members who are not our staff.

It is Django's LoginView, so every try passes the limiter the console and the admin share
(incidents.console.throttle: the first authentication backend and its middleware). It reads
no row: its answer depends on the URL alone, alike for a slug that has a page and one that
has none, so it names the page by its slug, never by the audience's recorded name. After
login the reader goes to `next` when it is on this site (LoginView's check), else to the page.
"""

from __future__ import annotations

import math

from django import forms
from django.contrib.auth.views import LoginView, LogoutView
from django.http import HttpResponse
from django.urls import get_script_prefix, reverse
from django.utils.translation import gettext_lazy as _

from statuspage.clients import login_wait


def slug_label(slug: str) -> str:
    """'clinic-network' -> 'Clinic network': from the URL only, so nothing is looked up."""
    return slug.replace("-", " ").replace("_", " ").capitalize()


def page_path(slug: str) -> str:
    """Where a reader lands once signed in: the audience's page."""
    return f"{get_script_prefix()}a/{slug}/"


class LinkRequestForm(forms.Form):
    """The "Email me a sign-in link" form (statuspage.public.member_link), on this page too."""

    email = forms.EmailField(max_length=254, label=_("Email address"))


class MemberLoginView(LoginView):
    template_name = "statuspage/member_login.html"

    def get_default_redirect_url(self) -> str:
        return page_path(self.kwargs["audience_slug"])

    def get_context_data(self, **kwargs) -> dict:
        context = super().get_context_data(**kwargs)
        context["audience_label"] = slug_label(self.kwargs["audience_slug"])
        context["audience_slug"] = self.kwargs["audience_slug"]
        context["link_form"] = LinkRequestForm()
        return context

    def form_invalid(self, form) -> HttpResponse:
        """A try the limiter refused gets this page's own 429 (the middleware lets it by)."""
        response = super().form_invalid(form)
        wait = login_wait(self.request)
        if wait:
            response.context_data["wait_minutes"] = max(1, math.ceil(wait / 60))  # type: ignore[attr-defined]
            response.status_code = 429
            response["Retry-After"] = str(wait)
            response.login_throttled = True  # type: ignore[attr-defined]
        return response


class MemberLogoutView(LogoutView):
    """`POST /a/<slug>/logout`: signs the reader out (of the whole site, as Django's
    logout does) and shows the page's sign-in again."""

    def get_default_redirect_url(self) -> str:
        return reverse("audience-login", args=[self.kwargs["audience_slug"]])
