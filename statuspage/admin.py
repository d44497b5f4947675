from django.contrib import admin

from statuspage.models import Audience, CheckResult, Component, ComponentGroup, Probe


@admin.register(ComponentGroup)
class ComponentGroupAdmin(admin.ModelAdmin):
    list_display = ["name", "position"]


@admin.register(Audience)
class AudienceAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "push_topic"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Component)
class ComponentAdmin(admin.ModelAdmin):
    list_display = ["name", "group", "status", "position"]
    list_filter = ["group", "status"]
    filter_horizontal = ["audiences"]


@admin.register(Probe)
class ProbeAdmin(admin.ModelAdmin):
    list_display = ["name", "component", "url", "interval_seconds", "state", "last_checked_at"]
    list_filter = ["state", "enabled"]
    readonly_fields = [
        "state",
        "consecutive_failures",
        "consecutive_successes",
        "first_failure_at",
        "last_checked_at",
        "next_run_at",
    ]


@admin.register(CheckResult)
class CheckResultAdmin(admin.ModelAdmin):
    list_display = ["probe", "checked_at", "ok", "latency_ms", "status_code", "error"]
    list_filter = ["ok", "probe"]
    date_hierarchy = "checked_at"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
