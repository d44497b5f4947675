"""The staff console: thin views over the workflow, the clock and the outbox.

Support staff (incidents.respond_incident) acknowledge, hold, publish now and post
updates; admins configure components, probes, policies and templates in the admin.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.db import transaction
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from incidents.console import preview
from incidents.console.alerts import staff_alerts
from incidents.console.forms import HoldForm, MaintenanceForm, UpdateForm
from incidents.console.progress import progress
from incidents.models import (
    OPEN_STATUSES,
    AffectedComponent,
    EscalationStep,
    FiredStep,
    Incident,
    IncidentStatus,
    IncidentUpdate,
    InvalidTransition,
)
from incidents.response import audit, clock, maintenance, oncall, workflow
from incidents.response.policies import ensure_default_policy
from statuspage import clock as wall
from statuspage.models import CheckResult
from statuspage.picture.monitoring import engines, housekeeping_leader

VIEW = "incidents.view_incident"
RESPOND = "incidents.respond_incident"
OPEN = "incidents.add_incident"


def console_incidents():
    return Incident.objects.select_related(
        "policy", "origin_probe", "acknowledged_by"
    ).prefetch_related(
        "components",
        Prefetch(
            "policy__steps",
            queryset=EscalationStep.objects.order_by("delay_seconds", "position").prefetch_related(
                "levels"
            ),
        ),
        Prefetch(
            "fired_steps",
            queryset=FiredStep.objects.select_related("step").order_by("fired_at", "id"),
        ),
        Prefetch("updates", queryset=IncidentUpdate.objects.order_by("-display_at", "-id")),
    )


@login_required(login_url="console-login")
@permission_required(VIEW, raise_exception=True)
def dashboard(request: HttpRequest) -> HttpResponse:
    now = wall.now()
    windows = (
        Incident.objects.maintenance()
        .filter(
            status__in=[
                IncidentStatus.SCHEDULED,
                IncidentStatus.IN_PROGRESS,
                IncidentStatus.VERIFYING,
            ]
        )
        .prefetch_related("components")
        .order_by("scheduled_for")
    )
    nodes = engines(now)
    leader = housekeeping_leader(now, nodes)
    fleet = [{"node": n, "state": n.state(now), "leads": n is leader} for n in nodes]
    return render(
        request,
        "incidents/dashboard.html",
        {
            **live_context(now),
            "windows": windows,
            "engines": fleet,
            "leader": leader,
            "oncall": oncall.on_call_panel(now),
            "refresh_ms": int(settings.CONSOLE_REFRESH_SECONDS * 1000),
        },
    )


def live_context(now) -> dict:
    """What the dashboard refreshes by itself: staff alerts, open incidents and their clocks."""
    open_incidents = list(console_incidents().incidents().filter(status__in=OPEN_STATUSES))
    return {
        "rows": [{"incident": i, "upcoming": clock.upcoming(i, now)[:3]} for i in open_incidents],
        "unacknowledged": sum(1 for i in open_incidents if i.acknowledged_at is None),
        "now": now,
        "alerts": staff_alerts(),
    }


@login_required(login_url="console-login")
@permission_required(VIEW, raise_exception=True)
def dashboard_live(request: HttpRequest) -> JsonResponse:
    """The dashboard's live part, polled by console.js: its HTML and the tab title."""
    context = live_context(wall.now())
    return JsonResponse(
        {
            "unacknowledged": context["unacknowledged"],
            "title": render_to_string("incidents/_dashboard_title.html", context, request),
            "html": render_to_string("incidents/_dashboard_live.html", context, request),
        },
        headers={"Cache-Control": "no-store"},
    )


@login_required(login_url="console-login")
@permission_required(VIEW, raise_exception=True)
def incident_detail(request: HttpRequest, public_id: str) -> HttpResponse:
    incident = get_object_or_404(console_incidents(), public_id=public_id)
    now = wall.now()
    return render(
        request,
        "incidents/incident.html",
        {
            **detail_context(incident, now),
            "form": UpdateForm(initial=initial_for(incident)),
            "hold_form": HoldForm(initial={"minutes": 15}),
        },
    )


def detail_context(incident: Incident, now) -> dict:
    evidence = []
    if incident.origin_probe_id:
        evidence = list(
            CheckResult.objects.filter(
                probe_id=incident.origin_probe_id, checked_at__lte=incident.detected_at
            ).order_by("-checked_at")[:5]
        )
    return {
        "incident": incident,
        "now": now,
        "upcoming": clock.upcoming(incident, now),
        "timeline": IncidentUpdate.everything.filter(incident=incident).select_related("author"),
        "audit": incident.audit_events.select_related("actor"),
        "evidence": evidence,
        "progress": progress(incident, now),
    }


def initial_for(incident: Incident) -> dict:
    return {
        "status": incident.status,
        "impact": incident.impact,
        "components": [c.id for c in incident.components.all()],
        "next_update_minutes": int(incident.policy.cadence_minutes) if incident.policy else 30,
        "notify": True,
    }


@login_required(login_url="console-login")
@permission_required(RESPOND, raise_exception=True)
@require_POST
def acknowledge(request: HttpRequest, public_id: str) -> HttpResponse:
    incident = get_object_or_404(Incident, public_id=public_id)
    if workflow.acknowledge(incident, request.user, wall.now()):
        messages.success(request, _("Acknowledged: paging stopped; public updates go on."))
    else:
        messages.info(request, _("Already acknowledged."))
    return redirect("console-incident", public_id)


@login_required(login_url="console-login")
@permission_required(RESPOND, raise_exception=True)
@require_POST
def hold(request: HttpRequest, public_id: str) -> HttpResponse:
    incident = get_object_or_404(Incident, public_id=public_id)
    form = HoldForm(request.POST)
    if not form.is_valid():
        for name, errors in form.errors.items():
            label = form.fields[name].label if name in form.fields else ""
            said = " ".join(map(str, errors))
            messages.error(
                request, _("Hold: %(label)s: %(errors)s") % {"label": label, "errors": said}
            )
        return redirect("console-incident", public_id)
    try:
        workflow.hold(
            incident,
            request.user,
            form.cleaned_data["minutes"],
            form.cleaned_data["reason"],
            wall.now(),
        )
    except InvalidTransition as error:
        messages.error(request, str(error))
    return redirect("console-incident", public_id)


@login_required(login_url="console-login")
@permission_required(RESPOND, raise_exception=True)
@require_POST
def release(request: HttpRequest, public_id: str) -> HttpResponse:
    workflow.release_hold(
        get_object_or_404(Incident, public_id=public_id), request.user, wall.now()
    )
    return redirect("console-incident", public_id)


@login_required(login_url="console-login")
@permission_required(RESPOND, raise_exception=True)
@require_POST
def fire_step(request: HttpRequest, public_id: str, step_id: int) -> HttpResponse:
    incident = get_object_or_404(Incident, public_id=public_id)
    step = get_object_or_404(EscalationStep, id=step_id, policy_id=incident.policy_id)
    if not incident.is_open:
        messages.error(request, _("This incident is closed; its clock has stopped."))
    elif clock.fire_now(incident, step, wall.now(), request.user) is None:
        messages.info(request, _("That step had already fired."))
    else:
        audit.record(incident, request.user, "published now", wall.now(), reason=str(step))
        messages.success(request, _("Fired now: %(step)s") % {"step": step})
    return redirect("console-incident", public_id)


@login_required(login_url="console-login")
@permission_required(RESPOND, raise_exception=True)
@require_POST
def post_update(request: HttpRequest, public_id: str) -> HttpResponse:
    incident = get_object_or_404(console_incidents(), public_id=public_id)
    form = UpdateForm(request.POST)
    now = wall.now()
    if form.is_valid():
        previews = previews_of(draft_from(form, incident, now))
        problems = preview.errors(previews)
        if problems:
            for problem in problems:
                form.add_error("body", problem)
        elif form.cleaned_data["confirm"]:
            try:
                save_update(form, incident, request.user, now)
            except InvalidTransition as error:
                form.add_error("status", str(error))
            else:
                messages.success(request, _("Posted. Delivery progress is below."))
                return redirect("console-incident", public_id)
        else:
            return render(
                request,
                "incidents/confirm.html",
                {
                    "incident": incident,
                    "form": confirmed(form),
                    "previews": previews,
                    "action": request.path,
                },
            )
    return render(
        request,
        "incidents/incident.html",
        {
            **detail_context(incident, now),
            "form": form,
            "hold_form": HoldForm(),
        },
        status=400,
    )


def previews_of(update: IncidentUpdate) -> list[preview.ChannelPreview]:
    """The channels' messages in the site's default language, whatever the console speaks:
    topics, on-call staff and social accounts get that one, and a subscriber's translation
    over a limit falls back to it when sent (notifiers.languages.render_in)."""
    with translation.override(settings.LANGUAGE_CODE):
        return preview.build(update)


def draft_from(form: UpdateForm, incident: Incident, now) -> IncidentUpdate:
    data = form.cleaned_data
    return preview.draft_update(
        incident, data["body"], data["status"], now, data["next_update_minutes"]
    )


def save_update(form: UpdateForm, incident: Incident, user, now) -> IncidentUpdate:
    data = form.cleaned_data
    return workflow.post_update(
        incident,
        data["body"],
        user,
        now,
        status=data["status"],
        impact=data["impact"],
        components=form.component_statuses(),
        deliver=data["notify"],
        next_by=now + timedelta(minutes=data["next_update_minutes"]),
    )


def confirmed(form: UpdateForm) -> UpdateForm:
    assert isinstance(form.data, QueryDict)  # the form was bound to request.POST
    data = form.data.copy()
    data["confirm"] = "on"
    return type(form)(data, new=form.new)


@login_required(login_url="console-login")
@permission_required(VIEW, raise_exception=True)
@require_POST
def live_preview(request: HttpRequest) -> HttpResponse:
    """The per-channel preview fragment, re-rendered as the staff member types."""
    public_id = request.POST.get("incident", "")
    form = UpdateForm(request.POST, new=not public_id)
    if not form.is_valid():
        # Not an error yet: nobody has tried to submit. Errors appear next to the fields then.
        return render(request, "incidents/_preview.html", {"incomplete": True}, status=400)
    now = wall.now()
    with transaction.atomic():
        incident = (
            get_object_or_404(Incident, public_id=public_id)
            if public_id
            else draft_incident(form, now)
        )
        previews = previews_of(draft_from(form, incident, now))
        transaction.set_rollback(True)
    return render(request, "incidents/_preview.html", {"previews": previews})


def draft_incident(form: UpdateForm, now) -> Incident:
    """An incident that exists only inside the rolled-back preview transaction."""
    data = form.cleaned_data
    incident = Incident.objects.create(
        name=data["name"],
        impact=data["impact"],
        status=data["status"],
        started_at=now,
        detected_at=now,
        created_at=now,
        updated_at=now,
    )
    for component, status in form.component_statuses().items():
        AffectedComponent.objects.create(incident=incident, component=component, status=status)
    return incident


@login_required(login_url="console-login")
@permission_required(OPEN, raise_exception=True)
def new_incident(request: HttpRequest) -> HttpResponse:
    ensure_default_policy()
    form = UpdateForm(
        request.POST or None,
        new=True,
        initial={
            "status": "investigating",
            "impact": "major",
            "notify": True,
            "next_update_minutes": 30,
        },
    )
    if request.method == "POST" and form.is_valid():
        now = wall.now()
        with transaction.atomic():
            previews = previews_of(draft_from(form, draft_incident(form, now), now))
            transaction.set_rollback(True)
        problems = preview.errors(previews)
        for problem in problems:
            form.add_error("body", problem)
        if not problems and form.cleaned_data["confirm"]:
            data = form.cleaned_data
            incident = workflow.open_by_staff(
                data["name"],
                data["body"],
                data["impact"],
                form.component_statuses(),
                request.user,
                now,
                status=data["status"],
                deliver=data["notify"],
                private_to=data["private_to"],
            )
            messages.success(request, _("Incident opened and published."))
            return redirect("console-incident", incident.public_id)
        if not problems:
            return render(
                request,
                "incidents/confirm.html",
                {
                    "incident": None,
                    "form": confirmed(form),
                    "previews": previews,
                    "action": request.path,
                },
            )
    status = 400 if request.method == "POST" else 200
    return render(request, "incidents/new.html", {"form": form}, status=status)


@login_required(login_url="console-login")
@permission_required(OPEN, raise_exception=True)
def new_maintenance(request: HttpRequest) -> HttpResponse:
    form = MaintenanceForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        window = maintenance.schedule(
            data["name"],
            data["body"],
            list(data["components"]),
            data["scheduled_for"],
            data["scheduled_until"],
            request.user,
            wall.now(),
            announce_before_minutes=data["announce_before"],
        )
        messages.success(
            request, _("Maintenance scheduled; it will be announced and run on its clock.")
        )
        return redirect("console-incident", window.public_id)
    return render(
        request,
        "incidents/maintenance_new.html",
        {"form": form},
        status=400 if request.method == "POST" else 200,
    )


@login_required(login_url="console-login")
@permission_required(VIEW, raise_exception=True)
def progress_fragment(request: HttpRequest, public_id: str) -> HttpResponse:
    incident = get_object_or_404(Incident, public_id=public_id)
    now = wall.now()
    return render(
        request,
        "incidents/_progress.html",
        {
            "incident": incident,
            "progress": progress(incident, now),
            "timeline": IncidentUpdate.objects.filter(incident=incident),
        },
    )


@login_required(login_url="console-login")
@permission_required(RESPOND, raise_exception=True)
@require_POST
def maintenance_status(request: HttpRequest, public_id: str, status: str) -> HttpResponse:
    """Start, verify or complete a maintenance by hand (the clock does it at its times)."""
    window = get_object_or_404(Incident.objects.maintenance(), public_id=public_id)
    now = wall.now()
    try:
        with transaction.atomic():
            maintenance.set_status(window, status, request.user, now)
    except InvalidTransition as error:
        messages.error(request, str(error))
    return redirect("console-incident", public_id)


@login_required(login_url="console-login")
@permission_required(RESPOND, raise_exception=True)
@require_POST
def postmortem(request: HttpRequest, public_id: str) -> HttpResponse:
    incident = get_object_or_404(Incident.objects.incidents(), public_id=public_id)
    try:
        workflow.publish_postmortem(
            incident,
            request.POST.get("body", ""),
            request.user,
            wall.now(),
            deliver=request.POST.get("notify") == "on",
        )
    except InvalidTransition as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _("Postmortem published."))
    return redirect("console-incident", public_id)
