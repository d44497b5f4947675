from typing import Any

from django import forms
from django.contrib import admin, messages
from django.template import Template, TemplateDoesNotExist, TemplateSyntaxError
from django.template.loader import get_template

from incidents.models import (
    AffectedComponent,
    AuditEvent,
    EscalationPolicy,
    EscalationStep,
    Incident,
    IncidentUpdate,
    InvalidTransition,
    MessageTemplate,
    OnCallContact,
)
from incidents.response import workflow
from incidents.response.budgets import check_override, describe
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
        name = f"{data.get('kind')}_{data['part']}" if data.get("part") else data.get("kind")
        try:
            get_template(f"messages/{data.get('channel')}/{name}.txt")
        except TemplateDoesNotExist:
            raise forms.ValidationError(
                f"There is no messages/{data.get('channel')}/{name}.txt to override: "
                "check the channel, kind and part."
            ) from None
        try:
            Template(data.get("body", ""))
        except TemplateSyntaxError as error:
            self.add_error("body", f"Template error: {error}")
            return data
        self.cuts = self.check_budget(data)
        return data

    def check_budget(self, data: dict[str, Any]) -> list[str]:
        """Refuse an override no shortening makes fit its channel's budget; return what
        will be cut of one that fits only shortened (shown once saved)."""
        draft = MessageTemplate(**{f: data.get(f, "") for f in self.Meta.fields})
        fits = check_override(draft)
        errors = [fit for fit in fits if fit.error]
        if errors:
            self.add_error("body", describe(errors))
            return []
        return describe(fits)


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
