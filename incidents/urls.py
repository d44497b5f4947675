"""Staff console and management API routes (mounted under /manage/ and /api/manage/)."""

from django.contrib.auth import views as auth_views
from django.urls import path

from incidents.console import api as manage_api
from incidents.console import (
    api_audiences,
    api_keys,
    api_policies,
    api_probes,
    api_schedules,
    api_subscribers,
    api_templates,
    oncall,
    replay,
    views,
)
from incidents.console.invitations import join
from incidents.console.login import ThrottledLoginView, link_login, request_link

urlpatterns = [
    path("manage/login/", ThrottledLoginView.as_view(), name="console-login"),
    path("manage/login/link/", request_link, name="console-login-request-link"),
    path("manage/login/link/<str:token>/", link_login, name="console-login-link"),
    path(
        "manage/logout/",
        auth_views.LogoutView.as_view(next_page="console-login"),
        name="console-logout",
    ),
    path("audiences/join/<str:token>/", join, name="audience-join"),
    path("manage/", views.dashboard, name="console-dashboard"),
    path("manage/live", views.dashboard_live, name="console-live"),
    path("manage/incidents/new", views.new_incident, name="console-new-incident"),
    path("manage/maintenance/new", views.new_maintenance, name="console-new-maintenance"),
    path("manage/preview", views.live_preview, name="console-preview"),
    path("manage/oncall", oncall.schedules_page, name="console-schedules"),
    path(
        "manage/oncall/<int:schedule_id>/overrides",
        oncall.add_override,
        name="console-add-override",
    ),
    path(
        "manage/oncall/<int:schedule_id>/overrides/<int:override_id>/remove",
        oncall.remove_override,
        name="console-remove-override",
    ),
    path("manage/demo/replay", replay.replay_page, name="console-demo-replay"),
    path("manage/incidents/<str:public_id>", views.incident_detail, name="console-incident"),
    path(
        "manage/incidents/<str:public_id>/acknowledge",
        views.acknowledge,
        name="console-acknowledge",
    ),
    path("manage/incidents/<str:public_id>/hold", views.hold, name="console-hold"),
    path("manage/incidents/<str:public_id>/release", views.release, name="console-release"),
    path("manage/incidents/<str:public_id>/updates", views.post_update, name="console-post-update"),
    path(
        "manage/incidents/<str:public_id>/progress",
        views.progress_fragment,
        name="console-progress",
    ),
    path(
        "manage/incidents/<str:public_id>/steps/<int:step_id>/fire",
        views.fire_step,
        name="console-fire-step",
    ),
    path(
        "manage/incidents/<str:public_id>/postmortem", views.postmortem, name="console-postmortem"
    ),
    path(
        "manage/incidents/<str:public_id>/maintenance/<str:status>",
        views.maintenance_status,
        name="console-maintenance-status",
    ),
    path("api/manage/v1/incidents", manage_api.incidents, name="manage-incidents"),
    path("api/manage/v1/incidents/<str:public_id>", manage_api.incident, name="manage-incident"),
    path(
        "api/manage/v1/incidents/<str:public_id>/<str:action>",
        manage_api.incident_action,
        name="manage-incident-action",
    ),
    path("api/manage/v1/components", manage_api.components, name="manage-components"),
    path("api/manage/v1/components/<str:public_id>", manage_api.component, name="manage-component"),
    path("api/manage/v1/audiences", api_audiences.audiences, name="manage-audiences"),
    path("api/manage/v1/subscribers", api_subscribers.subscribers, name="manage-subscribers"),
    path(
        "api/manage/v1/subscribers/<str:public_id>",
        api_subscribers.subscriber,
        name="manage-subscriber",
    ),
    path(
        "api/manage/v1/subscribers/<str:public_id>/unsubscribe",
        api_subscribers.unsubscribe,
        name="manage-subscriber-unsubscribe",
    ),
    path("api/manage/v1/probes", api_probes.probes, name="manage-probes"),
    path("api/manage/v1/probes/<str:public_id>", api_probes.probe, name="manage-probe"),
    path(
        "api/manage/v1/probes/<str:public_id>/<str:action>",
        api_probes.probe_switch,
        name="manage-probe-switch",
    ),
    path("api/manage/v1/policies", api_policies.policies, name="manage-policies"),
    path("api/manage/v1/policies/<str:public_id>", api_policies.policy, name="manage-policy"),
    path("api/manage/v1/templates", api_templates.templates, name="manage-templates"),
    path("api/manage/v1/templates/<str:public_id>", api_templates.template, name="manage-template"),
    path("api/manage/v1/api-keys", api_keys.api_keys, name="manage-api-keys"),
    path("api/manage/v1/api-keys/<str:public_id>", api_keys.api_key, name="manage-api-key"),
    path(
        "api/manage/v1/api-keys/<str:public_id>/revoke",
        api_keys.revoke,
        name="manage-api-key-revoke",
    ),
    path("api/manage/v1/schedules", api_schedules.schedules, name="manage-schedules"),
    path(
        "api/manage/v1/schedules/<str:public_id>",
        api_schedules.schedule,
        name="manage-schedule",
    ),
    path(
        "api/manage/v1/schedules/<str:public_id>/oncall",
        api_schedules.on_call,
        name="manage-schedule-oncall",
    ),
    path(
        "api/manage/v1/schedules/<str:public_id>/overrides",
        api_schedules.overrides,
        name="manage-schedule-overrides",
    ),
    path(
        "api/manage/v1/schedules/<str:public_id>/overrides/<str:override_id>",
        api_schedules.override,
        name="manage-schedule-override",
    ),
]
