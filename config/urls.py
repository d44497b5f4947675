from django.contrib import admin
from django.urls import include, path

from notifiers.web.views import subscribe
from statuspage.public import api, views
from statuspage.public.private import for_audience
from statuspage.public.urls import audience_urlpatterns, public_urlpatterns

urlpatterns = [
    path("", views.status_page, name="status-page"),
    path("incidents/<str:public_id>", views.incident_detail, name="incident"),
    path("history", views.history, name="history"),
    path("api/v2/summary.json", api.summary, name="api-summary"),
    path("api/v1/banner.json", api.banner, name="api-banner"),
    path("ping/", include("statuspage.probes.ping")),
    path("api/agent/v1/", include("statuspage.probes.agents")),
    *public_urlpatterns,
    *audience_urlpatterns,
    # An audience page's own subscribers (bound to it: statuspage.public.private).
    path("a/<slug:audience_slug>/subscribe/", for_audience(subscribe, move_prefix=False)),
    path(
        "a/<slug:audience_slug>/embed/<str:embed>/subscribe/",
        for_audience(subscribe, move_prefix=False),
    ),
    path("", include("statuspage.operations.urls")),
    path("admin/", admin.site.urls),
    path("", include("incidents.urls")),
    path("", include("notifiers.urls")),
]
