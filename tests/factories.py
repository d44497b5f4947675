"""Small builders for the objects most tests need."""

from __future__ import annotations

from statuspage.models import Audience, Component, ComponentGroup, Probe


def make_component(
    name: str = "Follow app alerts",
    audience_slug: str | None = "follow-app",
    advice: str = "Check glucose with a meter.",
) -> Component:
    group, _ = ComponentGroup.objects.get_or_create(name="Cloud")
    component = Component.objects.create(name=name, group=group, advice=advice)
    if audience_slug:
        audience, _ = Audience.objects.get_or_create(
            slug=audience_slug,
            defaults={
                "name": audience_slug.replace("-", " ").title(),
                "push_topic": f"{audience_slug}-status",
            },
        )
        component.audiences.add(audience)
    return component


def make_probe(component: Component, url: str, **fields) -> Probe:
    defaults = {
        "name": "health",
        "interval_seconds": 10,
        "timeout_seconds": 2,
        "failures_to_confirm": 2,
        "successes_to_confirm": 2,
    }
    return Probe.objects.create(component=component, url=url, **{**defaults, **fields})
