from __future__ import annotations

from django.contrib import admin, messages
from django.db import models
from django.utils.translation import gettext as _

from incidents.console.invitations import invite
from incidents.response.budgets import advice_fits, describe
from statuspage import clock
from statuspage.checks import registered
from statuspage.models import (
    SHARED_PROBE_SETTINGS,
    Audience,
    AudienceInvitation,
    AudienceMember,
    CheckResult,
    Component,
    ComponentGroup,
    EngineHeartbeat,
    EngineNode,
    Lease,
    Probe,
    ProbeAgent,
    RegionState,
)
from statuspage.public.private import embed_path


@admin.register(ComponentGroup)
class ComponentGroupAdmin(admin.ModelAdmin):
    list_display = ["name", "position"]


@admin.register(Audience)
class AudienceAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "push_topic", "private_page", "embed_enabled"]
    prepopulated_fields = {"slug": ["name"]}
    readonly_fields = ["embed_url"]
    actions = ["rotate_embed_keys"]

    @admin.display(description="Embed URL")
    def embed_url(self, obj: Audience) -> str:
        """The signed URL to embed the private page (works while embedding is on)."""
        if obj.pk is None or not obj.private_page:
            return "-"
        return embed_path(obj)

    @admin.action(description="Rotate the embed key (every embed URL given out stops working)")
    def rotate_embed_keys(self, request, queryset) -> None:
        for audience in queryset:
            audience.rotate_embed_key()
        self.message_user(request, f"{queryset.count()} embed key(s) rotated.")


@admin.register(AudienceMember)
class AudienceMemberAdmin(admin.ModelAdmin):
    list_display = ["user", "audience", "joined_at"]
    list_filter = ["audience"]
    autocomplete_fields = ["user"]

    def save_model(self, request, obj, form, change) -> None:
        if obj.joined_at is None:
            obj.joined_at = clock.now()
        super().save_model(request, obj, form, change)

    def get_exclude(self, request, obj=None):
        return ["joined_at"]


@admin.register(AudienceInvitation)
class AudienceInvitationAdmin(admin.ModelAdmin):
    """Adding one records it and emails the link (incidents.console.invitations)."""

    list_display = ["email", "audience", "created_at", "expires_at", "accepted_at"]
    list_filter = ["audience"]
    fields = ["audience", "email"]

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj, form, change) -> None:
        obj.pk = invite(obj.audience, obj.email, request.user).pk


@admin.register(Component)
class ComponentAdmin(admin.ModelAdmin):
    list_display = ["name", "group", "status", "position"]
    list_filter = ["group", "status"]
    filter_horizontal = ["audiences", "private_to"]
    # Past this many lines the message list would bury the form; the rest are counted.
    shown_cuts = 30

    def save_model(self, request, obj, form, change) -> None:
        """Saved, then checked: how the advice reads on every channel in every language."""
        super().save_model(request, obj, form, change)
        if not obj.advice:
            return
        lines = describe(advice_fits(obj))
        if not lines:
            messages.success(request, _("The advice fits every channel whole in every language."))
            return
        for line in lines[: self.shown_cuts]:
            messages.warning(request, line)
        if len(lines) > self.shown_cuts:
            messages.warning(request, _("… and %(n)d more.") % {"n": len(lines) - self.shown_cuts})


def kind_fieldsets(current: str) -> list[tuple[str, dict]]:
    """One fieldset a kind, the probe's own first and open, the others folded. A setting
    that several kinds share is shown once, with the first kind that lists it. Every
    field stays on the form, so changing the kind reports what the new kind lacks."""
    order = sorted(Probe.Kind, key=lambda kind: kind != current)
    shown: set[str] = set()
    fieldsets = []
    for kind in order:
        rules = registered()[kind]
        fields = [f for f in (*rules.fields, *rules.readouts) if f not in shown]
        shown.update(fields)
        folded = {"classes": ["collapse"]} if kind != current else {}
        if fields:
            fieldsets.append((str(kind.label), {"fields": fields, **folded}))
    return fieldsets


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

    def get_fieldsets(self, request, obj: Probe | None = None):
        current = obj.kind if obj else Probe._meta.get_field("kind").get_default()
        kind_fields = {f for kind in registered().values() for f in (*kind.fields, *kind.readouts)}
        state = [f for f in self.readonly_fields if f not in kind_fields]
        return [
            (None, {"fields": ["component", *SHARED_PROBE_SETTINGS]}),
            *kind_fieldsets(current),
            ("State", {"fields": state}),
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
    list_display = (
        "name",
        "last_cycle_at",
        "slip_p99_ms",
        "checks_completed",
        "host",
        "pid",
        "alarm_raised_at",
    )
    readonly_fields = (*list_display, "started_at", "interval_seconds")


@admin.register(EngineNode)
class EngineNodeAdmin(admin.ModelAdmin):
    """Each engine process as it registered itself; read-only, written by the engines."""

    list_display = (
        "host",
        "pid",
        "state_now",
        "started_at",
        "last_beat_at",
        "checks_completed",
        "slip_p99_ms",
        "stopped_at",
    )
    list_filter = ("host",)
    readonly_fields = (*list_display, "region", "interval_seconds", "replaced_by")

    @admin.display(description="state")
    def state_now(self, node: EngineNode) -> str:
        return node.state(clock.now())

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Lease)
class LeaseAdmin(admin.ModelAdmin):
    """Who holds each singleton job's lease (the engines' housekeeping) and until when."""

    list_display = ("name", "holder", "acquired_at", "expires_at", "changes")
    readonly_fields = list_display

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


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
