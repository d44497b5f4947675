"""Checked when written: how a component's advice, a template override or a staff update
reads on every budgeted channel, in every language, before anything is sent.

Each check renders the messages an affected user gets while an incident is open (and the
resolution) for a sample outage of the component, inside a transaction that is rolled back,
so nothing is saved and the wording is exactly what the channels would send. The demo's
configuration calls `advice_fits` to prove its advice fits every budget whole.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.template import TemplateDoesNotExist, TemplateSyntaxError
from django.template.loader import get_template
from django.utils import translation

from incidents.limits import MessageTooLong
from incidents.messages import WHOLE, Cut, fitted, render_message
from incidents.models import AffectedComponent, Impact, Incident, IncidentUpdate, MessageTemplate
from incidents.overrides import compile_override
from notifiers.registry import registered
from statuspage import clock
from statuspage.models import Component

OPEN_KINDS = ("opened", "update", "holding", "recovering", "relapsed")
CHECKED_KINDS = (*OPEN_KINDS, "resolved")
SAMPLE_BODY = "We are investigating delayed alerts and are working on a fix."


@dataclass(frozen=True)
class Fit:
    """One part of one channel's message for one kind of update, in one language."""

    channel: str
    part: str
    kind: str
    language: str
    text: str = ""
    cut: Cut = WHOLE
    error: str = ""

    @property
    def whole(self) -> bool:
        return not self.error and self.cut == WHOLE


def budgeted_parts() -> list[tuple[str, str]]:
    return [
        (name, part.name)
        for name, cls in sorted(registered().items())
        for part in cls.parts
        if part.limit is not None
    ]


def languages() -> list[str]:
    return [code for code, _ in settings.LANGUAGES]


def check_component(
    component: Component, advice: str | None = None, body: str = SAMPLE_BODY
) -> list[Fit]:
    """Every budgeted part for a sample outage of `component`, with `advice` instead of its
    saved advice when given (the admin's form before it is saved)."""
    return check(component, advice, body)


def check_override(template: MessageTemplate, component: Component | None = None) -> list[Fit]:
    """The override's part in its locale, for a sample outage of `component` (or of the
    first component with advice); nothing for a part without a budget."""
    if (template.channel, template.part) not in budgeted_parts():
        return []
    component = component or Component.objects.exclude(advice="").first()
    if component is None:
        component = Component(name="Follow app alerts", advice="")
    return check(
        component,
        None,
        SAMPLE_BODY,
        kinds=(template.kind,),
        only=(template.channel, template.part),
        override=template.body,
        langs=[template.locale],
    )


def override_problems(draft: MessageTemplate) -> tuple[dict[str, list[str]], list[str]]:
    """What refuses an override as it is written (by field; "template" when no file of that
    channel, kind and part exists), and what of it will be cut on its channel: the admin's
    form and the management API both ask this."""
    name = f"{draft.kind}_{draft.part}" if draft.part else draft.kind
    try:
        get_template(f"messages/{draft.channel}/{name}.txt")
    except TemplateDoesNotExist:
        missing = f"There is no messages/{draft.channel}/{name}.txt to override: "
        return {"template": [missing + "check the channel, kind and part."]}, []
    try:
        compile_override(draft.body)
    except TemplateSyntaxError as error:
        return {"body": [f"Template error: {error}"]}, []
    fits = check_override(draft)
    errors = [fit for fit in fits if fit.error]
    if errors:
        return {"body": describe(errors)}, []
    return {}, describe(fits)


def advice_fits(component: Component, advice: str | None = None) -> list[Fit]:
    """The parts where the advice would not fit whole (cut or failing): empty when it fits
    every channel's budget in every language."""
    return [fit for fit in check_component(component, advice) if not fit.whole]


def check(
    component: Component,
    advice: str | None,
    body: str,
    kinds: tuple[str, ...] = CHECKED_KINDS,
    only: tuple[str, str] | None = None,
    override: str | None = None,
    langs: list[str] | None = None,
) -> list[Fit]:
    parts = [only] if only else budgeted_parts()
    results: list[Fit] = []
    saved_pk, saved_advice = component.pk, component.advice
    with transaction.atomic():
        updates = sample_updates(component, advice, body, kinds)
        for language in langs or languages():
            with translation.override(language):
                for update in updates:
                    context = {
                        "incident": update.incident,
                        "update": update,
                        "page_name": settings.STATUSPAGE["NAME"],
                    }
                    results += [
                        fit_part(channel, part, update.kind, language, context, override)
                        for channel, part in parts
                    ]
        transaction.set_rollback(True)
    component.pk = saved_pk  # a component saved only for the check is new again
    if advice is not None and saved_pk is not None:
        component.advice = saved_advice
    return results


def fit_part(
    channel: str, part: str, kind: str, language: str, context: dict, override: str | None
) -> Fit:
    try:
        result = fitted(channel, kind, context, part, override=override)
    except MessageTooLong as error:
        return Fit(channel, part, kind, language, error=str(error))
    return Fit(channel, part, kind, language, result.text, result.cut)


def sample_updates(
    component: Component, advice: str | None, body: str, kinds: tuple[str, ...]
) -> list[IncidentUpdate]:
    """A sample outage of the component and one update of each kind (rolled back by the
    caller's transaction)."""
    now = clock.now()
    if advice is not None:
        component.advice = advice
    component.save()
    incident = Incident.objects.create(
        name=f"{component.name} down",
        impact=Impact.CRITICAL,
        started_at=now,
        detected_at=now,
        created_at=now,
        updated_at=now,
    )
    AffectedComponent.objects.create(incident=incident, component=component, status="major_outage")
    return [
        IncidentUpdate(
            incident=incident,
            kind=kind,
            status="resolved" if kind == "resolved" else incident.status,
            body=body,
            next_update_by=None if kind == "resolved" else now + timedelta(minutes=30),
            display_at=now,
            created_at=now,
            updated_at=now,
        )
        for kind in kinds
    ]


def describe(fits: list[Fit]) -> list[str]:
    """One line per channel's part and language that does not fit whole (its first kind
    of update that does not), worded by templates/messages/staff/budget.txt."""
    first: dict[tuple[str, str, str], Fit] = {}
    for fit in fits:
        if not fit.whole:
            first.setdefault((fit.channel, fit.part, fit.language), fit)
    return [
        render_message("staff", "budget", {"fit": fit})
        for _, fit in sorted(first.items(), key=lambda item: item[0])
    ]
