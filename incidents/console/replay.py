"""The console's page of the last `manage.py demo replay`: who heard what and when, measured
from the outbox and the sandbox, beside the timeline of the outage in CONTEXT.md."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from incidents.response import reach
from notifiers.recipients import Recipients

VIEW = "incidents.view_incident"


def labelled(row: dict) -> dict:
    known = row["recipients"] in Recipients.values
    return {**row, "who": Recipients(row["recipients"]).label if known else row["recipients"]}


@login_required(login_url="console-login")
@permission_required(VIEW, raise_exception=True)
def replay_page(request: HttpRequest) -> HttpResponse:
    record = reach.load()
    rows = [labelled(row) for row in record["heard"]] if record else []
    sandbox = sorted(record["sandbox"].items()) if record else []
    return render(
        request, "incidents/replay.html", {"record": record, "rows": rows, "sandbox": sandbox}
    )
