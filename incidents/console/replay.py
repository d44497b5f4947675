"""The console's page of the last `manage.py demo replay`: who heard what and when, measured
from the outbox and the sandbox, beside the timeline of the outage in CONTEXT.md."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from incidents.response import reach
from notifiers.recipients import Recipients

VIEW = "incidents.view_incident"
# Short, for a table column (the Recipients labels explain more than fits).
WHO = {
    reach.VISITORS: _("Anyone who looks"),
    Recipients.APP_USERS: _("App users and followers"),
    Recipients.COMPONENT_TOPICS: _("App users following the component"),
    Recipients.SUBSCRIBERS: _("Subscribers"),
    Recipients.FALLBACK: _("Subscribers, second channel"),
    Recipients.ONCALL: _("On-call staff"),
    Recipients.PUBLIC: _("The public"),
}


def labelled(row: dict) -> dict:
    return {**row, "who": WHO.get(row["recipients"], row["recipients"])}


@login_required(login_url="console-login")
@permission_required(VIEW, raise_exception=True)
def replay_page(request: HttpRequest) -> HttpResponse:
    record = reach.load()
    rows = [labelled(row) for row in record["heard"]] if record else []
    sandbox = sorted(record["sandbox"].items()) if record else []
    return render(
        request, "incidents/replay.html", {"record": record, "rows": rows, "sandbox": sandbox}
    )
