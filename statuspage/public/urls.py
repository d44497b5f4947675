"""Routes of the public site beyond the page itself: the v2 API, feeds, widget, badges."""

from django.urls import include, path

from statuspage.public import (
    api,
    badges,
    feeds,
    language,
    member_link,
    member_login,
    openapi,
    private,
    views,
    widget,
)

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


def audience_routes() -> list:
    """The public routes an audience's page repeats under its own path, each run for the
    audience (statuspage.public.private); unnamed, so a link reversed inside one of them
    (by the public name, under the audience's script prefix) stays on the audience's page."""
    v2 = [path(f"api/v2/{name}.json", api.v2_view(name)) for name in api.V2_BODIES]
    routes = [
        path("", views.status_page),
        path("incidents/<str:public_id>", views.incident_detail),
        path("history", views.history),
        path("api/v1/banner.json", api.banner),
        *v2,
        path("history.rss", feeds.public_feed(feeds.HistoryRss())),
        path("history.atom", feeds.public_feed(feeds.HistoryAtom())),
        path("components/<str:public_id>/history.rss", feeds.public_feed(feeds.HistoryRss())),
        path("components/<str:public_id>/history.atom", feeds.public_feed(feeds.HistoryAtom())),
        path("badge.svg", badges.overall),
        path("badges/<str:public_id>.svg", badges.component_status),
        path("badges/<str:public_id>/uptime.svg", badges.component_uptime),
        path("language/<str:code>", language.choose_language),
    ]
    for route in routes:
        route.callback = private.for_audience(route.callback)
    return routes


audience_urlpatterns = [
    path(
        "a/<slug:audience_slug>/login",
        member_login.MemberLoginView.as_view(),
        name="audience-login",
    ),
    path(
        "a/<slug:audience_slug>/login/link",
        member_link.request_link,
        name="audience-login-request-link",
    ),
    path(
        "a/<slug:audience_slug>/login/link/<str:token>",
        member_link.link_login,
        name="audience-login-link",
    ),
    path(
        "a/<slug:audience_slug>/logout",
        member_login.MemberLogoutView.as_view(),
        name="audience-logout",
    ),
    path("a/<slug:audience_slug>/", include(audience_routes())),
    path("a/<slug:audience_slug>/embed/<str:embed>/", include(audience_routes())),
]
