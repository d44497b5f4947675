"""Subscription flows and provider webhooks."""

urlpatterns: list = []
