"""The console's on-call page: who is on call now and next in each schedule, the layers,
and the overrides staff with the permission add or remove here (editing schedules
themselves is in the admin, and the API)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from incidents.models import OnCallContact, Schedule, ScheduleOverride
from incidents.response import oncall
from statuspage import clock as wall
from statuspage.inputs import validate_moment

VIEW = "incidents.view_schedule"
ADD = "incidents.add_scheduleoverride"
DELETE = "incidents.delete_scheduleoverride"


class OverrideForm(forms.Form):
    """One person covers one window; times are read in the schedule's time zone."""

    contact = forms.ModelChoiceField(
        queryset=OnCallContact.objects.all(), label=gettext_lazy("Who covers")
    )
    starts_at = forms.DateTimeField(
        label=gettext_lazy("From"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        validators=[validate_moment],
    )
    ends_at = forms.DateTimeField(
        label=gettext_lazy("Until"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        validators=[validate_moment],
    )


@login_required(login_url="console-login")
@permission_required(VIEW, raise_exception=True)
def schedules_page(request: HttpRequest) -> HttpResponse:
    now = wall.now()
    form = OverrideForm()
    # Read once: the form is shown under every schedule.
    people = [(c.pk, str(c)) for c in OnCallContact.objects.all()]
    field = form.fields["contact"]
    assert isinstance(field, forms.ModelChoiceField)
    field.choices = [("", "---------"), *people]
    return render(
        request,
        "incidents/schedules.html",
        {"rows": oncall.on_call_summary(now), "now": now, "form": form},
    )


@login_required(login_url="console-login")
@permission_required(ADD, raise_exception=True)
@require_POST
def add_override(request: HttpRequest, schedule_id: int) -> HttpResponse:
    schedule = get_object_or_404(Schedule, id=schedule_id)
    with timezone.override(schedule.zone):
        form = OverrideForm(request.POST)
        valid = form.is_valid()
    if valid:
        try:
            oncall.add_override(schedule, actor=request.user, now=wall.now(), **form.cleaned_data)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, _("Override added."))
    else:
        for field, errors in form.errors.items():
            label = form.fields[field].label if field in form.fields else field
            messages.error(request, f"{label}: {' '.join(map(str, errors))}")
    return redirect("console-schedules")


@login_required(login_url="console-login")
@permission_required(DELETE, raise_exception=True)
@require_POST
def remove_override(request: HttpRequest, schedule_id: int, override_id: int) -> HttpResponse:
    override = get_object_or_404(
        ScheduleOverride.objects.select_related("schedule", "contact"),
        id=override_id,
        schedule_id=schedule_id,
    )
    oncall.remove_override(override, request.user, wall.now())
    messages.success(request, _("Override removed."))
    return redirect("console-schedules")
