"""Acknowledge from where the page arrives (issue 18, item 2): a short code per incident
(existing unresolved incidents get one each, distinct), where an acknowledgement came from,
and the spent one-time acknowledge links."""

import secrets


import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def give_open_incidents_codes(apps, schema_editor):
    incident = apps.get_model("incidents", "Incident")
    taken = set()
    for row in incident.objects.filter(resolved_at__isnull=True, short_code=""):
        code = ""
        while not code or code in taken:
            code = "".join(
                secrets.choice(alphabet)
                for alphabet in ("ABCDEFGHJKLMNPQRSTUVWXYZ",) * 2 + ("23456789",) * 2
            )
        taken.add(code)
        incident.objects.filter(id=row.id).update(short_code=code)


class Migration(migrations.Migration):
    dependencies = [
        ("incidents", "0008_imported_from_statuspage"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="UsedAckLink",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("key", models.CharField(max_length=80, unique=True)),
                ("used_at", models.DateTimeField()),
            ],
        ),
        migrations.AddField(
            model_name="auditevent",
            name="contact",
            field=models.CharField(blank=True, max_length=200),
        ),
        migrations.AddField(
            model_name="auditevent",
            name="via",
            field=models.CharField(
                blank=True,
                choices=[
                    ("console", "console"),
                    ("sms", "SMS reply"),
                    ("voice", "voice call"),
                    ("email-link", "email link"),
                    ("sms-link", "SMS link"),
                ],
                max_length=16,
            ),
        ),
        migrations.AddField(
            model_name="incident",
            name="acknowledged_contact",
            field=models.CharField(blank=True, max_length=200),
        ),
        migrations.AddField(
            model_name="incident",
            name="acknowledged_via",
            field=models.CharField(
                blank=True,
                choices=[
                    ("console", "console"),
                    ("sms", "SMS reply"),
                    ("voice", "voice call"),
                    ("email-link", "email link"),
                    ("sms-link", "SMS link"),
                ],
                max_length=16,
            ),
        ),
        migrations.AddField(
            model_name="incident",
            name="short_code",
            field=models.CharField(blank=True, editable=False, max_length=8),
        ),
        migrations.RunPython(give_open_incidents_codes, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="incident",
            constraint=models.UniqueConstraint(
                condition=models.Q(
                    ("resolved_at__isnull", True), models.Q(("short_code", ""), _negated=True)
                ),
                fields=("short_code",),
                name="one_short_code_per_open_incident",
            ),
        ),
        migrations.AddField(
            model_name="usedacklink",
            name="incident",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="incidents.incident",
            ),
        ),
    ]
