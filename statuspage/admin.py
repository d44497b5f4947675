from django.contrib import admin
from django.db import models

from statuspage.models import (
    Audience,
    CheckResult,
    Component,
    ComponentGroup,
    EngineHeartbeat,
    Probe,
    ProbeAgent,
    RegionState,
)


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
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_display = [
        "name",
        "component",
        "kind",
        "interval_seconds",
        "state",
        "flapping_since",
        "last_checked_at",
    ]
    list_filter = ["kind", "state", "enabled"]
    readonly_fields = [
        "state",
        "consecutive_failures",
        "consecutive_successes",
        "first_failure_at",
        "last_checked_at",
        "next_run_at",
        "ping_key",
        "last_ping_at",
        "last_start_at",
        "last_warning",
        "failure_status",
        "flapping_since",
        "evidence",
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


@admin.register(EngineHeartbeat)
class EngineHeartbeatAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "last_cycle_at",
        "slip_p99_ms",
        "checks_completed",
        "host",
        "pid",
        "alarm_raised_at",
    ]
    readonly_fields = list_display + ["started_at", "interval_seconds"]


@admin.register(ProbeAgent)
class ProbeAgentAdmin(admin.ModelAdmin):
    """Register agents with `manage.py add_probe_agent` (the token is shown once)."""

    list_display = ["name", "region", "enabled", "last_seen_at"]
    readonly_fields = ["last_seen_at"]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(RegionState)
class RegionStateAdmin(admin.ModelAdmin):
    list_display = ["probe", "region", "state", "since", "last_error", "last_checked_at"]
    list_filter = ["region", "state"]
