"""SVG badges for READMEs, intranets and dashboards: overall status, a component's status,
and a component's 90-day uptime, drawn in the flat style people know from CI badges."""

from __future__ import annotations

from dataclasses import dataclass

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.utils.translation import gettext

from statuspage import clock
from statuspage.models import Component, ComponentStatus
from statuspage.picture.silence import with_silence
from statuspage.picture.summary import build_snapshot
from statuspage.picture.uptime import uptime_views
from statuspage.public.http import conditional, public_read
from statuspage.public.store import stored

BADGE_MAX_AGE = 60
COLOUR_FOR_INDICATOR = {
    "none": "#1a7f37",
    "minor": "#9a6700",
    "major": "#bc4c00",
    "critical": "#cf222e",
}
COLOUR_FOR_STATUS: dict[str, str] = {
    ComponentStatus.OPERATIONAL: "#1a7f37",
    ComponentStatus.UNDER_MAINTENANCE: "#0969da",
    ComponentStatus.DEGRADED_PERFORMANCE: "#9a6700",
    ComponentStatus.PARTIAL_OUTAGE: "#bc4c00",
    ComponentStatus.MAJOR_OUTAGE: "#cf222e",
}
UNKNOWN_COLOUR = "#57606a"
# Average advance of Verdana 11px, the badge font, per character; text is then fitted with
# textLength so it never overflows whatever the font the viewer has.
CHAR_WIDTH = 6.8
PADDING = 10


@dataclass
class Badge:
    label: str
    message: str
    colour: str

    @property
    def label_width(self) -> int:
        return round(len(self.label) * CHAR_WIDTH + PADDING)

    @property
    def message_width(self) -> int:
        return round(len(self.message) * CHAR_WIDTH + PADDING)

    @property
    def width(self) -> int:
        return self.label_width + self.message_width

    @property
    def label_x(self) -> float:
        return self.label_width / 2

    @property
    def message_x(self) -> float:
        return self.label_width + self.message_width / 2

    def svg(self) -> bytes:
        return render_to_string("statuspage/badge.svg", {"badge": self}).encode()


def uptime_colour(uptime: float | None) -> str:
    if uptime is None:
        return UNKNOWN_COLOUR
    if uptime >= 99.9:
        return COLOUR_FOR_STATUS[ComponentStatus.OPERATIONAL]
    if uptime >= 99:
        return COLOUR_FOR_STATUS[ComponentStatus.DEGRADED_PERFORMANCE]
    return COLOUR_FOR_STATUS[ComponentStatus.MAJOR_OUTAGE]


def overall_badge() -> Badge:
    snapshot = build_snapshot()
    return Badge(
        gettext("status"),
        snapshot.overall.description,
        COLOUR_FOR_INDICATOR[snapshot.overall.indicator],
    )


def status_badge(component: Component) -> Badge:
    if component.status_unknown:
        return Badge(component.name, gettext("status unknown"), UNKNOWN_COLOUR)
    return Badge(
        component.name, component.get_status_display(), COLOUR_FOR_STATUS[component.status]
    )


def uptime_badge(component: Component) -> Badge:
    uptime = uptime_views([component], clock.now())[component.id].uptime
    message = f"{uptime:.2f}%" if uptime is not None else gettext("no data")
    return Badge(gettext("uptime %(days)s days") % {"days": 90}, message, uptime_colour(uptime))


def svg_response(request: HttpRequest, badge: Badge) -> HttpResponse:
    return conditional(request, badge.svg(), "image/svg+xml; charset=utf-8", BADGE_MAX_AGE)


def shown_component(public_id: str) -> Component:
    component = get_object_or_404(with_silence(Component.objects.shown()), public_id=public_id)
    if not component.showcase:
        raise Http404("No such component.")
    return component


@public_read
@stored("badge:overall")
def overall(request: HttpRequest) -> HttpResponse:
    return svg_response(request, overall_badge())


@public_read
@stored("badge:component_status")
def component_status(request: HttpRequest, public_id: str) -> HttpResponse:
    return svg_response(request, status_badge(shown_component(public_id)))


@public_read
@stored("badge:component_uptime")
def component_uptime(request: HttpRequest, public_id: str) -> HttpResponse:
    return svg_response(request, uptime_badge(shown_component(public_id)))


def badge_paths() -> list[str]:
    """Every badge URL, for the static snapshot."""
    paths = ["/badge.svg"]
    shown = Component.objects.shown().filter(showcase=True)
    for public_id in shown.values_list("public_id", flat=True):
        paths += [f"/badges/{public_id}.svg", f"/badges/{public_id}/uptime.svg"]
    return paths
