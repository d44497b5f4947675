"""Subscription flows and provider webhooks."""

from django.urls import path

from notifiers.web import acks, backups, views, webhooks

app_name = "notifiers"

urlpatterns = [
    path("subscribe/", views.subscribe, name="subscribe"),
    path("subscribe/email/<str:token>/", views.confirm_email, name="confirm-email"),
    path("subscribe/sms/<str:token>/", views.confirm_sms, name="confirm-sms"),
    path("subscriptions/<str:token>/", views.preferences, name="preferences"),
    path("subscriptions/<str:token>/unsubscribe", views.unsubscribe, name="unsubscribe"),
    path("subscriptions/<str:token>/backup", backups.add_backup, name="add-backup"),
    path("subscriptions/<str:token>/backup/remove", backups.remove_backup, name="remove-backup"),
    path("api/v1/push/devices", views.register_device, name="push-devices"),
    path("hooks/twilio/status", webhooks.twilio_status, name="twilio-status"),
    path("hooks/twilio/inbound", webhooks.twilio_inbound, name="twilio-inbound"),
    path("ack/<str:token>", acks.link, name="ack-link"),
    path("hooks/twilio/ack/<str:token>", acks.voice, name="ack-voice"),
    path("hooks/sendgrid/events", webhooks.sendgrid_events, name="sendgrid-events"),
]
