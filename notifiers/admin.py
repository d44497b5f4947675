from django.contrib import admin

from notifiers.models import Announcement, Delivery, ProviderState, SocialAccount, Subscriber


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Announcement)
class AnnouncementAdmin(ReadOnlyAdmin):
    list_display = ["update", "channel", "audience", "created_at", "fanned_out_at"]
    list_filter = ["channel"]


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    list_display = [
        "channel",
        "target",
        "state",
        "attempts",
        "sent_at",
        "provider_status",
        "last_error",
    ]
    list_filter = ["channel", "state"]
    search_fields = ["target", "provider_message_id"]


@admin.register(SocialAccount)
class SocialAccountAdmin(admin.ModelAdmin):
    list_display = ["name", "network", "enabled", "account", "secret_env_prefix"]
    list_filter = ["network", "enabled"]


@admin.register(Subscriber)
class SubscriberAdmin(admin.ModelAdmin):
    list_display = [
        "address",
        "channel",
        "confirmed_at",
        "suppression",
        "all_components",
        "created_at",
    ]
    list_filter = ["channel", "suppression"]
    search_fields = ["address"]
    readonly_fields = ["public_id", "code_digest", "code_sent_at", "code_tries", "signing_secret"]
    filter_horizontal = ["components"]


@admin.register(ProviderState)
class ProviderStateAdmin(ReadOnlyAdmin):
    list_display = ["provider", "consecutive_failures", "open_until", "next_slot_at"]
