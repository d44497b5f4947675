import secrets
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from incidents.console.api_auth import hash_key
from incidents.models import (
    AffectedComponent,
    ApiToken,
    AuditEvent,
    EscalationLevel,
    EscalationPolicy,
    EscalationStep,
    Incident,
    IncidentUpdate,
    InvalidTransition,
    LayerMember,
    MessageTemplate,
    OnCallContact,
    Schedule,
    ScheduleLayer,
    ScheduleOverride,
)
from incidents.response import workflow
from incidents.response.budgets import override_problems
from statuspage import clock


class AffectedComponentInline(admin.TabularInline):
    model = AffectedComponent
    extra = 0


class IncidentUpdateInline(admin.StackedInline):
    model = IncidentUpdate
    extra = 0
    fields = ("display_at", "kind", "status", "body", "author")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.action(description="Resolve the selected incidents", permissions=["change"])
def resolve_incidents(modeladmin, request, queryset) -> None:
    for incident in queryset:
        try:
            workflow.resolve(incident, clock.now(), author=request.user)
        except InvalidTransition as error:
            modeladmin.message_user(request, f"{incident}: {error}", messages.ERROR)
        else:
            modeladmin.message_user(request, f"Resolved: {incident}", messages.SUCCESS)


@admin.register(Incident)
class IncidentAdmin(admin.ModelAdmin):
    list_display = ["name", "status", "impact", "detected_at", "resolved_at"]
    list_filter = ["status", "impact"]
    readonly_fields = [
        "status",
        "origin_probe",
        "started_at",
        "detected_at",
        "identified_at",
        "monitoring_at",
        "resolved_at",
        "created_at",
        "updated_at",
    ]
    exclude = ["origin_component"]
    inlines = [AffectedComponentInline, IncidentUpdateInline]
    actions = [resolve_incidents]


class EscalationStepInline(admin.TabularInline):
    model = EscalationStep
    extra = 0


@admin.register(EscalationPolicy)
class EscalationPolicyAdmin(admin.ModelAdmin):
    list_display = ["name", "priority", "impacts", "cadence_minutes"]
    filter_horizontal = ["components"]
    inlines = [EscalationStepInline]


class MessageTemplateForm(forms.ModelForm):
    """An override must name a file that exists and be a template that compiles."""

    class Meta:
        model = MessageTemplate
        fields = ["channel", "kind", "part", "locale", "body"]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        assert data is not None  # ModelForm.clean returns cleaned_data; the stubs allow None
        draft = MessageTemplate(**{f: data.get(f, "") for f in self.Meta.fields})
        problems, self.cuts = override_problems(draft)
        if "template" in problems:
            raise forms.ValidationError(problems["template"][0])
        if "body" in problems:
            self.add_error("body", problems["body"])
        return data


@admin.register(MessageTemplate)
class MessageTemplateAdmin(admin.ModelAdmin):
    form = MessageTemplateForm
    list_display = ["channel", "kind", "part", "locale"]
    list_filter = ["channel", "kind", "locale"]

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        for line in getattr(form, "cuts", []):
            messages.warning(request, line)


@admin.register(OnCallContact)
class OnCallContactAdmin(admin.ModelAdmin):
    list_display = ["name", "phone", "email", "active", "position"]
    list_editable = ["active", "position"]


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ["at", "actor", "action", "incident"]
    list_filter = ["action"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Management API keys: who has one, when it was last used, when it expires; revoke
    at once. A key added here is shown once, in the confirmation message."""

    list_display = ["name", "user", "state", "created_at", "last_used_at", "expires_at"]
    list_filter = ["revoked_at", "expires_at"]
    search_fields = ["name", "user__username"]
    readonly_fields = ["created_at", "last_used_at", "revoked_at"]
    actions = ["revoke"]

    def get_readonly_fields(self, request, obj=None) -> list[str]:
        return self.readonly_fields + (["user"] if obj is not None else [])

    @admin.display(description=_("state"))
    def state(self, token: ApiToken) -> str:
        return token.state(clock.now())

    def save_model(self, request, obj: ApiToken, form, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        key = secrets.token_urlsafe(32)
        obj.key_hash = hash_key(key)
        super().save_model(request, obj, form, change)
        self.message_user(
            request,
            _("The key, shown this once: %(key)s") % {"key": key},
            messages.WARNING,
        )

    @admin.action(description=_("Revoke the selected keys now"), permissions=["change"])
    def revoke(self, request, queryset) -> None:
        now = clock.now()
        count = sum(token.revoke(now) for token in queryset)
        self.message_user(request, ngettext("Revoked %d key.", "Revoked %d keys.", count) % count)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


# --- On-call schedules and escalation levels (incidents.schedules) ------------------------


class LayerMemberInline(admin.TabularInline):
    model = LayerMember
    extra = 1


@admin.register(ScheduleLayer)
class ScheduleLayerAdmin(admin.ModelAdmin):
    list_display = ["__str__", "position", "rotation", "hand_off_time", "starts_at"]
    inlines = [LayerMemberInline]


class ScheduleLayerInline(admin.TabularInline):
    model = ScheduleLayer
    extra = 0
    show_change_link = True


class ScheduleOverrideInline(admin.TabularInline):
    model = ScheduleOverride
    extra = 0
    exclude = ["created_by"]


@admin.register(Schedule)
class ScheduleAdmin(admin.ModelAdmin):
    list_display = ["name", "time_zone", "on_call_now"]
    inlines = [ScheduleLayerInline, ScheduleOverrideInline]

    def get_queryset(self, request):
        return super().get_queryset(request).for_reading(since=clock.now())

    @admin.display(description=_("On call now"))
    def on_call_now(self, schedule: Schedule) -> str:
        return str(schedule.on_call_at(clock.now()) or "-")


@admin.register(EscalationLevel)
class EscalationLevelAdmin(admin.ModelAdmin):
    list_display = ["step", "position", "schedule", "wait_minutes"]
    filter_horizontal = ["contacts"]
