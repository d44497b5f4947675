from django.contrib.auth.management import create_permissions
from django.db import migrations


def sync(apps, schema_editor):
    """Admins may list, import and remove subscribers (the management API)."""
    for config in apps.get_app_configs():
        config.models_module = True
        create_permissions(config, verbosity=0, apps=apps)
        config.models_module = None
    from incidents.roles import sync_roles

    sync_roles(apps.get_model("auth", "Group"), apps.get_model("auth", "Permission"))


class Migration(migrations.Migration):
    dependencies = [
        ("incidents", "0011_oncall_schedules_and_escalation_levels"),
        ("notifiers", "0017_subscriber_consent"),
    ]

    operations = [migrations.RunPython(sync, migrations.RunPython.noop)]
