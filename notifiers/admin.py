from django.contrib import admin

from notifiers.models import Announcement, Delivery


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
    list_display = ["channel", "target", "state", "attempts", "sent_at", "last_error"]
    list_filter = ["channel", "state"]
    search_fields = ["target", "provider_message_id"]
