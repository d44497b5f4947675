"""Console forms: they validate and say what is wrong, field by field."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.utils.translation import gettext_lazy as _

from incidents.models import MAINTENANCE_STATUSES, Impact, IncidentStatus
from incidents.response.workflow import MAX_HOLD
from statuspage.inputs import validate_moment, validate_text
from statuspage.models import Audience, Component, ComponentStatus

INCIDENT_STATUS_CHOICES = [
    (s.value, s.label)
    for s in IncidentStatus
    if s not in MAINTENANCE_STATUSES and s != IncidentStatus.POSTMORTEM
]
OUTAGE_CHOICES = [(s.value, s.label) for s in ComponentStatus]
MAX_NOTICE_MINUTES = 366 * 24 * 60


class UpdateForm(forms.Form):
    """Post once, reach everyone: one message, its status, impact and components."""

    name = forms.CharField(
        max_length=200,
        required=False,
        label=_("Title (new incidents)"),
        validators=[validate_text],
    )
    status = forms.ChoiceField(choices=INCIDENT_STATUS_CHOICES, label=_("Status"))
    impact = forms.ChoiceField(choices=Impact.choices, label=_("Impact"))
    body = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 5}),
        max_length=5000,
        label=_("Message"),
        validators=[validate_text],
    )
    components = forms.ModelMultipleChoiceField(
        queryset=Component.objects.all(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label=_("Affected components"),
    )
    component_status = forms.ChoiceField(
        choices=OUTAGE_CHOICES, initial="partial_outage", label=_("Status of the chosen components")
    )
    private_to = forms.ModelMultipleChoiceField(
        queryset=Audience.objects.filter(private_page=True),
        required=False,
        label=_("Private to (new incidents)"),
        help_text=_(
            "Shown and announced only on these audiences' pages; none: public. "
            "Left empty on private components only, it is private to their audiences."
        ),
    )
    notify = forms.BooleanField(
        required=False, initial=True, label=_("Notify everyone told so far")
    )
    next_update_minutes = forms.IntegerField(
        min_value=5, max_value=24 * 60, initial=30, label=_("Next update in (minutes)")
    )
    confirm = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, new: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.new = new
        if new:
            self.fields["name"].required = True
            cast(forms.ChoiceField, self.fields["status"]).choices = INCIDENT_STATUS_CHOICES[:3]

    def clean_body(self) -> str:
        body = self.cleaned_data["body"].strip()
        if len(body) < 10:
            raise forms.ValidationError(_("Say what is happening in at least a short sentence."))
        return body

    def component_statuses(self) -> dict:
        status = self.cleaned_data["component_status"]
        if self.cleaned_data["status"] == IncidentStatus.RESOLVED:
            status = ComponentStatus.OPERATIONAL
        return dict.fromkeys(self.cleaned_data.get("components") or [], status)


class HoldForm(forms.Form):
    minutes = forms.IntegerField(
        min_value=1, max_value=int(MAX_HOLD.total_seconds() // 60), label=_("Minutes")
    )
    reason = forms.CharField(max_length=500, label=_("Reason"), validators=[validate_text])


class MaintenanceForm(forms.Form):
    name = forms.CharField(max_length=200, label=_("Title"), validators=[validate_text])
    body = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        required=False,
        label=_("Message"),
        validators=[validate_text],
        help_text=_("Leave empty for the template's wording."),
    )
    components = forms.ModelMultipleChoiceField(
        queryset=Component.objects.all(),
        widget=forms.CheckboxSelectMultiple,
        label=_("Components"),
    )
    scheduled_for = forms.DateTimeField(
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        label=_("Starts"),
        validators=[validate_moment],
    )
    scheduled_until = forms.DateTimeField(
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        label=_("Ends"),
        validators=[validate_moment],
    )
    announce_before = forms.CharField(
        initial="4320,60",
        required=False,
        label=_("Announce it this many minutes before"),
        help_text=_("Minutes before the start, comma separated."),
    )

    def clean_announce_before(self) -> list[int]:
        raw = self.cleaned_data["announce_before"]
        try:
            values = sorted({int(v) for v in raw.split(",") if v.strip()}, reverse=True)
        except ValueError as error:
            raise forms.ValidationError(_("Whole minutes, like 4320,60.")) from error
        if any(v <= 0 or v > MAX_NOTICE_MINUTES for v in values):
            raise forms.ValidationError(_("Each notice must come before the start."))
        return values

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        assert data is not None  # Form.clean returns cleaned_data; the stubs allow None
        start, end = data.get("scheduled_for"), data.get("scheduled_until")
        if start and end and end <= start:
            self.add_error("scheduled_until", _("The maintenance must end after it starts."))
        return data
