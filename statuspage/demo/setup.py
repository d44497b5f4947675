"""The demo configuration `make run` loads: a Follow service, its apps, and its probes.

Three probes watch the demo service (statuspage.demo.service), one per way it fails: the
HTTP health check (`demo break`), the freshness of its data (`demo backlog`: the health
check stays green while data falls behind) and the heartbeat of the sensor uploads
(`demo silence`: the uploads stop).
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction

from incidents.models import OnCallContact
from statuspage.models import Audience, Component, ComponentGroup, Probe

DEMO_ADMIN = "admin"
# The demo's on-call person: a phone and an inbox that exist only on the sandbox page, so the
# clock's page, the T+5 voice call and the reminders can be watched arriving there.
DEMO_ONCALL = {"name": "Demo on-call", "phone": "+14155550123", "email": "oncall@example.org"}


def demo_service_url() -> str:
    return f"http://127.0.0.1:{settings.DEMO_SERVICE_PORT}"


@transaction.atomic
def load_demo() -> None:
    follow_app, _ = Audience.objects.update_or_create(
        slug="follow-app", defaults={"name": "Follow app", "push_topic": "follow-app-status"}
    )
    share_app, _ = Audience.objects.update_or_create(
        slug="share-app", defaults={"name": "Share app", "push_topic": "share-app-status"}
    )
    cloud, _ = ComponentGroup.objects.update_or_create(
        name="Share & Follow cloud", defaults={"position": 0}
    )
    web, _ = ComponentGroup.objects.update_or_create(name="Website", defaults={"position": 1})
    alerts = upsert_component(
        "Follow app alerts",
        cloud,
        0,
        "Glucose readings and urgent low/high alarms delivered to followers.",
        # Short enough for every channel's budget in every language (tests/statuspage/
        # test_demo_advice.py): an X post in Spanish leaves about 100 characters for it.
        "Call the person you follow and check glucose with a meter. Do not delete or "
        "reinstall the app.",
        [follow_app],
    )
    upload = upsert_component(
        "Share upload",
        cloud,
        1,
        "Readings sent from the sensor wearer's phone to the cloud.",
        "Your own app still shows your readings and alarms; only sharing is affected.",
        [share_app, follow_app],
    )
    upsert_component("Website", web, 0, "The company's website and account pages.", "", [])
    load_demo_probes(alerts, upload)


# The data is late for followers once it is this old; checked every FRESHNESS_INTERVAL, so
# two checks (two intervals) confirm it.
DATA_AGE_OUTAGE_SECONDS = 120
FRESHNESS_INTERVAL_SECONDS = 30
# The uploader pings every UPLOAD_EVERY_SECONDS; the heartbeat expects one a minute.
UPLOAD_EVERY_SECONDS = 15
HEARTBEAT_INTERVAL_SECONDS = 60
HEARTBEAT_GRACE_SECONDS = 60
HEARTBEAT_NAME = "Sensor uploads heartbeat"


def load_demo_probes(alerts: Component, upload: Component) -> None:
    confirm = {"failures_to_confirm": 2, "successes_to_confirm": 2}
    Probe.objects.update_or_create(
        component=alerts,
        name="Follow API health",
        defaults={
            "url": f"{demo_service_url()}/health",
            "interval_seconds": 10,
            "timeout_seconds": 3,
            **confirm,
        },
    )
    Probe.objects.update_or_create(
        component=alerts,
        name="Follow data freshness",
        defaults={
            "kind": Probe.Kind.FRESHNESS,
            "url": f"{demo_service_url()}/metrics",
            "value_path": "$.data_age_seconds",
            "outage_above": DATA_AGE_OUTAGE_SECONDS,
            "interval_seconds": FRESHNESS_INTERVAL_SECONDS,
            "timeout_seconds": 3,
            **confirm,
        },
    )
    Probe.objects.update_or_create(
        component=upload,
        name=HEARTBEAT_NAME,
        defaults={
            "kind": Probe.Kind.HEARTBEAT,
            "interval_seconds": HEARTBEAT_INTERVAL_SECONDS,
            "grace_seconds": HEARTBEAT_GRACE_SECONDS,
            **confirm,
        },
    )
    load_demo_oncall()


def load_demo_oncall() -> OnCallContact:
    contact, _ = OnCallContact.objects.update_or_create(
        name=DEMO_ONCALL["name"],
        defaults={"phone": DEMO_ONCALL["phone"], "email": DEMO_ONCALL["email"], "active": True},
    )
    return contact


def heartbeat_url() -> str | None:
    """Where the demo's uploader pings: the heartbeat probe's secret URL (None before setup)."""
    key = Probe.objects.filter(name=HEARTBEAT_NAME).values_list("ping_key", flat=True).first()
    return f"{settings.STATUSPAGE['URL']}/ping/{key}" if key else None


def upsert_component(name, group, position, description, advice, audiences) -> Component:
    component, _ = Component.objects.update_or_create(
        name=name,
        defaults={
            "group": group,
            "position": position,
            "description": description,
            "advice": advice,
        },
    )
    component.audiences.set(audiences)
    return component


def ensure_demo_admin() -> str:
    """Create the demo's staff login once; its password is kept in var/ and printed by make run."""
    path = settings.VAR_DIR / "demo-admin-password"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(12))
        path.chmod(0o600)
    password = path.read_text().strip()
    user, created = get_user_model().objects.get_or_create(
        username=DEMO_ADMIN, defaults={"is_staff": True, "is_superuser": True}
    )
    if created or not user.check_password(password):
        user.set_password(password)
        user.save()
    return password
