"""Policies resolve a probe-opened incident after a stable period, and a postmortem is an
update kind of its own (issue 17).

Existing policies get 0 (staff resolve, as before: a site's own policies do not change
behaviour under it), the shipped "Default" policy gets 30 minutes, and every policy made
from now on defaults to 30."""

from django.db import migrations, models

KINDS = [
    ("opened", "Opened"),
    ("update", "Update"),
    ("recovering", "Recovering"),
    ("relapsed", "Relapsed"),
    ("resolved", "Resolved"),
    ("holding", "Holding update"),
    ("maintenance_scheduled", "Maintenance scheduled"),
    ("maintenance_started", "Maintenance started"),
    ("maintenance_completed", "Maintenance completed"),
    ("postmortem", "Postmortem"),
    ("paging", "Page to on-call staff"),
    ("reminder", "Reminder to on-call staff"),
    ("note", "Internal note"),
    ("monitoring_interrupted", "Monitoring interrupted"),
    ("monitoring_restored", "Monitoring restored"),
]  # noqa: E501
DEFAULT_POLICY_NAME = "Default"  # incidents.response.policies.DEFAULT_POLICY_NAME


def default_policy_resolves_itself(apps, schema_editor):
    policy = apps.get_model("incidents", "EscalationPolicy")
    policy.objects.filter(name=DEFAULT_POLICY_NAME).update(auto_resolve_minutes=30)


class Migration(migrations.Migration):
    dependencies = [("incidents", "0004_monitoring_interruptions")]

    operations = [
        migrations.AddField(
            model_name="escalationpolicy",
            name="auto_resolve_minutes",
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.RunPython(default_policy_resolves_itself, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="escalationpolicy",
            name="auto_resolve_minutes",
            field=models.PositiveIntegerField(
                default=30,
                help_text=(
                    "Resolve an incident a probe opened once it has been back this many "
                    "minutes, unless staff acted on it; everyone told hears. 0: staff resolve it."
                ),
            ),
        ),
        migrations.AlterField(
            model_name="incidentupdate",
            name="kind",
            field=models.CharField(choices=KINDS, default="update", max_length=24),
        ),
        migrations.AlterField(
            model_name="messagetemplate",
            name="kind",
            field=models.CharField(choices=KINDS, max_length=24),
        ),
    ]
