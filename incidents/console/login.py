"""The console's login pages: the password form, and the one-time link by email that still
works while the limiter (incidents.console.throttle, shared with the admin's login) makes
this client wait."""

from __future__ import annotations

from django import forms
from django.contrib.auth import login
from django.contrib.auth.views import LoginView
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods

from incidents.console import signin
from notifiers.delivery.dispatch import enqueue
from notifiers.ratelimit import wait_seconds
from statuspage import clock
from statuspage.clients import client_key

LINK_SCOPE = "login-link"


class ThrottledLoginView(LoginView):
    """Django's login view; every try passes the shared limiter (ThrottleBackend)."""

    template_name = "incidents/login.html"


class LinkRequestForm(forms.Form):
    login = forms.CharField(max_length=254, label=_("Username or email"))


@require_http_methods(["GET", "POST"])
def request_link(request: HttpRequest) -> HttpResponse:
    """The same answer whether or not the account exists: nobody learns who is staff."""
    form = LinkRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        login_name = form.cleaned_data["login"].strip().lower()
        if wait_seconds(LINK_SCOPE, client_key(request), login_name, clock.now()):
            return render(
                request,
                "incidents/login_link_request.html",
                {"form": form, "limited": True},
                status=429,
            )
        user = signin.staff_with_login(login_name)
        if user is not None:
            enqueue(signin.TASK, user.pk)
        return render(request, "incidents/login_link_sent.html")
    status = 400 if request.method == "POST" else 200
    return render(request, "incidents/login_link_request.html", {"form": form}, status=status)


@require_http_methods(["GET", "POST"])
def link_login(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows a button and POST logs in: a mail scanner opening the link uses nothing."""
    user = signin.user_for_token(token)
    if user is None:
        return render(request, "incidents/login_link.html", {"invalid": True}, status=400)
    if request.method == "POST":
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        return redirect("console-dashboard")
    return render(request, "incidents/login_link.html", {"invalid": False})
