"""The console's login, rate limited: the login page is public, so guessing is throttled
per client address and per username (LOGIN_FAILURES_ALLOWED within LOGIN_LOCKOUT)."""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth.views import LoginView
from django.core.cache import cache
from django.http import HttpResponse

LOGIN_FAILURES_ALLOWED = 5
LOGIN_LOCKOUT = timedelta(minutes=15)


def throttle_keys(request) -> list[str]:
    address = request.META.get("REMOTE_ADDR", "unknown")
    username = request.POST.get("username", "").strip().lower()
    return [f"console-login:ip:{address}", f"console-login:user:{username}"]


def locked_out(request) -> bool:
    return any((cache.get(key) or 0) >= LOGIN_FAILURES_ALLOWED for key in throttle_keys(request))


def count_failure(request) -> None:
    seconds = int(LOGIN_LOCKOUT.total_seconds())
    for key in throttle_keys(request):
        cache.add(key, 0, seconds)
        try:
            cache.incr(key)
        except ValueError:
            cache.set(key, 1, seconds)


class ThrottledLoginView(LoginView):
    template_name = "incidents/login.html"

    def post(self, request, *args, **kwargs) -> HttpResponse:
        if locked_out(request):
            # The form stays unbound: the password is not even checked.
            minutes = int(LOGIN_LOCKOUT.total_seconds() // 60)
            context = self.get_context_data(form=self.form_class(request), lockout_minutes=minutes)
            return self.render_to_response(context, status=429)
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form) -> HttpResponse:
        count_failure(self.request)
        return super().form_invalid(form)

    def form_valid(self, form) -> HttpResponse:
        cache.delete_many(throttle_keys(self.request))
        return super().form_valid(form)
