"""Incident history as RSS 2.0 and Atom, one item per incident with its whole timeline.

Ids are the incident permalinks: they never change when an incident is updated, so feed
readers update the item in place instead of showing a duplicate.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.contrib.syndication.views import Feed
from django.utils.feedgenerator import Atom1Feed, Rss201rev2Feed
from django.utils.translation import gettext_lazy as _

from incidents.models import Incident
from statuspage.public_http import conditional, public_read
from statuspage.serializers import incident_url
from statuspage.summary import recent_incidents

FEED_SIZE = 50
FEED_MAX_AGE = 60


class HistoryRss(Feed):
    feed_type = Rss201rev2Feed
    description_template = "statuspage/feed_item.html"

    def title(self) -> str:
        return str(_("%(name)s status history") % {"name": settings.STATUSPAGE["NAME"]})

    def description(self) -> str:
        return str(_("Incidents and their updates, newest first."))

    def link(self) -> str:
        return settings.STATUSPAGE["URL"] + "/"

    def feed_url(self) -> str:
        return settings.STATUSPAGE["URL"] + "/history." + self.suffix

    suffix = "rss"

    def items(self) -> list[Incident]:
        return recent_incidents(FEED_SIZE)

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
    feed_type = Atom1Feed
    suffix = "atom"
    subtitle = HistoryRss.description

    def author_name(self) -> str:
        return settings.STATUSPAGE["NAME"]


def public_feed(feed: Feed) -> Callable:
    """Feeds are read by aggregators on every origin: same caching and validators as the API."""

    @public_read
    def view(request: HttpRequest) -> HttpResponse:
        rendered = feed(request)
        return conditional(request, rendered.content, rendered["Content-Type"], FEED_MAX_AGE)

    return view
