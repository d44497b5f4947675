"""The two staff roles: support staff run incidents, admins configure the system.

Both are Django groups with model permissions, created by a migration and kept in step by
`sync_roles()`; a person gets a role by being put in its group (in the admin).
"""

from __future__ import annotations

SUPPORT = "Support staff"
ADMINS = "Admins"

SUPPORT_PERMISSIONS = [
    "incidents.view_incident",
    "incidents.add_incident",
    "incidents.change_incident",
    "incidents.respond_incident",
    "incidents.view_incidentupdate",
    "incidents.add_incidentupdate",
    "incidents.view_auditevent",
    "incidents.view_firedstep",
    "incidents.view_oncallcontact",
    "incidents.view_schedule",
    "incidents.view_scheduleoverride",
    "incidents.add_scheduleoverride",
    "incidents.delete_scheduleoverride",
    "statuspage.view_component",
    "notifiers.view_announcement",
    "notifiers.view_delivery",
]

ADMIN_EXTRA = [
    f"{app}.{verb}_{model}"
    for app, model in [
        ("statuspage", "component"),
        ("statuspage", "componentgroup"),
        ("statuspage", "audience"),
        ("statuspage", "probe"),
        ("incidents", "escalationpolicy"),
        ("incidents", "escalationstep"),
        ("incidents", "messagetemplate"),
        ("incidents", "oncallcontact"),
        ("incidents", "apitoken"),
        ("notifiers", "subscriber"),
        ("incidents", "schedule"),
        ("incidents", "scheduleoverride"),
        ("incidents", "schedulelayer"),
        ("incidents", "layermember"),
        ("incidents", "escalationlevel"),
    ]
    for verb in ("view", "add", "change", "delete")
]

ROLE_PERMISSIONS = {SUPPORT: SUPPORT_PERMISSIONS, ADMINS: SUPPORT_PERMISSIONS + ADMIN_EXTRA}


def sync_roles(group_model, permission_model) -> None:
    """Give each role group exactly its permissions (works with migration state models)."""
    for name, perms in ROLE_PERMISSIONS.items():
        group, _ = group_model.objects.get_or_create(name=name)
        wanted = []
        for perm in perms:
            app_label, codename = perm.split(".")
            wanted += list(
                permission_model.objects.filter(
                    content_type__app_label=app_label, codename=codename
                )
            )
        group.permissions.set(wanted)


def ensure_roles() -> None:
    """Create or refresh the role groups with the live models (tests, after a flush)."""
    # Inside: migrations import this module, and must not load auth's live models.
    from django.contrib.auth.models import Group, Permission

    sync_roles(Group, Permission)
