"""Routes of the public site beyond the page itself: the v2 API, feeds, widget, badges."""

from django.urls import path

from statuspage.public import api, badges, feeds, language, openapi, widget

public_urlpatterns = [
    path(f"api/v2/{name}.json", api.v2_view(name), name=f"api-v2-{name.replace('/', '-')}")
    for name in api.V2_BODIES
    if name != "summary"
]

public_urlpatterns += [
    path("history.rss", feeds.public_feed(feeds.HistoryRss()), name="history-rss"),
    path("history.atom", feeds.public_feed(feeds.HistoryAtom()), name="history-atom"),
    path(
        "components/<str:public_id>/history.rss",
        feeds.public_feed(feeds.HistoryRss()),
        name="component-history-rss",
    ),
    path(
        "components/<str:public_id>/history.atom",
        feeds.public_feed(feeds.HistoryAtom()),
        name="component-history-atom",
    ),
]

public_urlpatterns += [
    path("widget/banner.js", widget.banner_js, name="widget-banner"),
]

public_urlpatterns += [
    path("language/<str:code>", language.choose_language, name="choose-language"),
]

public_urlpatterns += [
    path("badge.svg", badges.overall, name="badge"),
    path("badges/<str:public_id>.svg", badges.component_status, name="badge-component"),
    path("badges/<str:public_id>/uptime.svg", badges.component_uptime, name="badge-uptime"),
]

public_urlpatterns += [
    path("api/openapi.json", openapi.openapi, name="openapi"),
]
