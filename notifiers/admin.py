from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from notifiers.models import Announcement, Delivery, ProviderState, SocialAccount, Subscriber
from notifiers.subscribers import masked_address


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Announcement)
class AnnouncementAdmin(ReadOnlyAdmin):
    list_display = ["update", "channel", "audience", "created_at", "fanned_out_at"]
    list_filter = ["channel"]


def sees_addresses(request) -> bool:
    """Support staff read the delivery list without the subscribers' addresses."""
    return request.user.has_perm("notifiers.view_subscriber")


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    list_display = [
        "channel",
        "target",
        "state",
        "attempts",
        "sent_at",
        "provider_status",
        "backup_reason",
        "last_error",
    ]
    list_filter = ["channel", "state", "backup_reason"]
    search_fields = ["target", "provider_message_id"]
    readonly_fields = ["recipient"]
    personal = ["target", "subscriber"]

    @admin.display(description=_("recipient"))
    def recipient(self, delivery: Delivery) -> str:
        """A subscriber's address, masked; topics and on-call staff are not masked."""
        if delivery.subscriber_id is None:
            return delivery.target
        return masked_address(delivery.channel, delivery.target)

    def get_list_display(self, request) -> list:
        if sees_addresses(request):
            return list(self.list_display)
        return [("recipient" if f == "target" else f) for f in self.list_display]

    def get_search_fields(self, request) -> list[str]:
        return list(self.search_fields) if sees_addresses(request) else ["provider_message_id"]

    def get_fields(self, request, obj=None) -> list:
        fields = [f for f in super().get_fields(request, obj) if f != "recipient"]
        if sees_addresses(request):
            return fields
        return ["recipient"] + [f for f in fields if f not in self.personal]


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
    # The consent an import recorded is evidence: shown, never edited.
    readonly_fields = [
        "public_id",
        "code_digest",
        "code_sent_at",
        "code_tries",
        "signing_secret",
        "consent_by",
        "consent_text",
        "consent_at",
        "consent_source",
        "imported_by",
    ]
    filter_horizontal = ["components"]


@admin.register(ProviderState)
class ProviderStateAdmin(ReadOnlyAdmin):
    list_display = ["provider", "consecutive_failures", "opened_at", "open_until", "next_slot_at"]
