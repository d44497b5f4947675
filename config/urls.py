from django.contrib import admin
from django.urls import include, path

from statuspage.public import api, views
from statuspage.public.urls import public_urlpatterns

urlpatterns = [
    path("", views.status_page, name="status-page"),
    path("incidents/<str:public_id>", views.incident_detail, name="incident"),
    path("history", views.history, name="history"),
    path("api/v2/summary.json", api.summary, name="api-summary"),
    path("api/v1/banner.json", api.banner, name="api-banner"),
    path("ping/", include("statuspage.probes.ping")),
    path("api/agent/v1/", include("statuspage.probes.agents")),
    *public_urlpatterns,
    path("", include("statuspage.operations.urls")),
    path("admin/", admin.site.urls),
    path("", include("incidents.urls")),
    path("", include("notifiers.urls")),
]
