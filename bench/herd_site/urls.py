"""The app's URLs plus /bench/constant: constant bytes through the same middleware stack,
under the same gunicorn configuration, so it is the ceiling any of our answers could reach."""

from django.http import HttpRequest, HttpResponse
from django.urls import path

from config.urls import urlpatterns as app_urlpatterns

CONSTANT = b'{"status": "ok", "padding": "' + b"x" * 400 + b'"}'


def constant(request: HttpRequest) -> HttpResponse:
    return HttpResponse(CONSTANT, content_type="application/json")


urlpatterns = [path("bench/constant", constant), *app_urlpatterns]
