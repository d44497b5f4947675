"""Incident history as RSS 2.0 and Atom, one item per incident with its whole timeline.

Ids are the incident permalinks: they never change when an incident is updated, so feed
readers update the item in place instead of showing a duplicate.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.syndication.views import Feed
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.utils.feedgenerator import Atom1Feed, Rss201rev2Feed, SyndicationFeed
from django.utils.translation import gettext_lazy as _

from incidents.models import Incident
from statuspage import viewer
from statuspage.inputs import xml_safe
from statuspage.models import Component
from statuspage.picture.serializers import incident_url
from statuspage.picture.summary import recent_incidents
from statuspage.public.http import conditional, public_read
from statuspage.public.store import stored

FEED_SIZE = 50
FEED_MAX_AGE = 60


def carried(value: Any) -> Any:
    """A feed value with what XML 1.0 cannot carry dropped: rows stored before input was
    checked (or by a path that skipped the checks) must not turn the feed into a 500."""
    if isinstance(value, str):
        return xml_safe(value)
    if isinstance(value, list | tuple):
        return [carried(v) for v in value]
    return value


class XmlSafe(SyndicationFeed):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*[carried(a) for a in args], **{k: carried(v) for k, v in kwargs.items()})

    def add_item(self, *args: Any, **kwargs: Any) -> None:
        super().add_item(*[carried(a) for a in args], **{k: carried(v) for k, v in kwargs.items()})


class SafeRss(XmlSafe, Rss201rev2Feed):
    pass


class SafeAtom(XmlSafe, Atom1Feed):
    pass


class HistoryRss(Feed):
    feed_type: type[SyndicationFeed] = SafeRss
    description_template = "statuspage/feed_item.html"

    def get_object(self, request: HttpRequest, public_id: str | None = None) -> Component | None:
        """The whole page, or one component when the URL names it."""
        if public_id is None:
            return None
        return get_object_or_404(Component.objects.shown(), public_id=public_id, showcase=True)

    def title(self, component: Component | None = None) -> str:
        if component is not None:
            return str(
                _("%(component)s · %(name)s status history")
                % {"component": component.name, "name": settings.STATUSPAGE["NAME"]}
            )
        return str(_("%(name)s status history") % {"name": settings.STATUSPAGE["NAME"]})

    def description(self) -> str:
        return str(_("Incidents and their updates, newest first."))

    def link(self) -> str:
        return viewer.page_url() + "/"

    def feed_url(self, component: Component | None = None) -> str:
        base = viewer.page_url()
        if component is not None:
            return f"{base}/components/{component.public_id}/history.{self.suffix}"
        return f"{base}/history.{self.suffix}"

    suffix = "rss"

    def items(self, component: Component | None = None) -> list[Incident]:
        return recent_incidents(FEED_SIZE, component)

    def item_title(self, item: Incident) -> str:
        return f"{item.name} ({item.get_status_display()})"

    def item_link(self, item: Incident) -> str:
        return incident_url(item)

    def item_guid(self, item: Incident) -> str:
        return incident_url(item)

    item_guid_is_permalink = True

    def item_pubdate(self, item: Incident):
        return item.created_at

    def item_updateddate(self, item: Incident):
        return item.updated_at

    def item_categories(self, item: Incident) -> list[str]:
        return [c.name for c in item.components.all()]

    def get_context_data(self, **kwargs) -> dict:
        return {**super().get_context_data(**kwargs), "incident": kwargs["item"]}


class HistoryAtom(HistoryRss):
    feed_type = SafeAtom
    suffix = "atom"
    subtitle = HistoryRss.description

    def author_name(self) -> str:
        return settings.STATUSPAGE["NAME"]


def public_feed(feed: HistoryRss) -> Callable:
    """Feeds are read by aggregators on every origin: same caching and validators as the API."""

    @public_read
    @stored(f"feed:{feed.suffix}")
    def view(request: HttpRequest, **kwargs) -> HttpResponse:
        rendered = feed(request, **kwargs)
        return conditional(request, rendered.content, rendered["Content-Type"], FEED_MAX_AGE)

    return view


def component_feed_paths() -> list[str]:
    """Every per-component feed URL, for the static snapshot."""
    ids = Component.objects.shown().filter(showcase=True).values_list("public_id", flat=True)
    return [f"/components/{i}/history.{suffix}" for i in ids for suffix in ("rss", "atom")]
