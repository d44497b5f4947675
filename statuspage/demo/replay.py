"""`manage.py demo replay`: the outage of CONTEXT.md again, on our system, sped up.

The demo clock (settings.DEMO_CLOCK_SPEED, read only by statuspage.clock) runs `speed` times
faster than real time from a few minutes before "01:00"; at 01:00 the demo service's data
starts falling behind while its health check stays green, as in the original outage. The
engine, its housekeeping and the task queue run in this process (the caller passes them in as
`Drivers`: they sit beside this module in the layers). Afterwards the outbox says who heard
what and when, the sandbox says what each provider received, and the record is kept in var/
for the console's replay page.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from django.conf import settings
from django.test.utils import override_settings
from django.utils import timezone

from incidents.models import Incident, OnCallContact
from incidents.response import reach
from notifiers.models import SocialAccount, Subscriber
from statuspage import clock
from statuspage.demo.service import DemoServer, Uploader
from statuspage.demo.setup import UPLOAD_EVERY_SECONDS
from statuspage.models import Probe

BREAK_AT = time(1, 0)
CALM_BEFORE = timedelta(minutes=2)
SOCIAL_NETWORKS = ("mastodon", "bluesky", "x", "facebook")
SELF_WATCH = {"statuspage.picture.silence.sweep", "incidents.response.queue_stall.check_queue"}


@dataclass(frozen=True)
class Drivers:
    """What runs the system in this process: one engine pass (probes, then housekeeping,
    then queued tasks) and one sensor upload's ping."""

    engine_pass: Callable[[], None]
    ping: Callable[[bytes], None]


def cast(now: datetime) -> None:
    """Someone on every channel: subscribers (English and Spanish), the social accounts,
    a webhook receiver in the sandbox and, when nobody is on call, an on-call contact."""
    # No Spanish SMS yet: its wording alone is over the three-segment budget until messages
    # are shortened to fit (issue 17, section A); then add ("sms", "+15005550102", "es").
    people = [
        ("sms", "+15005550101", "en"),
        ("email", "parent@example.com", "en"),
        ("email", "madre@example.com", "es"),
        ("webhook", f"{settings.SANDBOX_URL}/_sandbox/hooks/replay", "en"),
    ]
    for channel, address, locale in people:
        Subscriber.objects.get_or_create(
            channel=channel,
            address=address,
            defaults={"locale": locale, "confirmed_at": now, "created_at": now, "updated_at": now},
        )
    for network in SOCIAL_NETWORKS:
        SocialAccount.objects.get_or_create(
            network=network,
            defaults={
                "name": f"Follow status on {network}",
                "server_url": "https://mastodon.example" if network == "mastodon" else "",
                "account": {"bluesky": "follow.bsky.social", "facebook": "1234567890"}.get(
                    network, ""
                ),
                "secret_env_prefix": f"DEMO_{network.upper()}",
            },
        )
    if not OnCallContact.objects.filter(active=True).exists():
        OnCallContact.objects.create(
            name="Demo on-call", phone="+15005550109", email="oncall@example.com"
        )


def story_start(real_now: datetime) -> datetime:
    """The virtual moment the replay begins: CALM_BEFORE before the next 01:00 UTC, so the
    sped-up clock never runs behind what the database already holds."""
    day = real_now.astimezone(UTC).date() + timedelta(days=1)
    return datetime.combine(day, BREAK_AT, tzinfo=UTC) - CALM_BEFORE


def replay(demo: DemoServer, drivers: Drivers, speed: float, minutes: float) -> dict:
    """Run the story to `minutes` after the break and return its measured record."""
    start = story_start(timezone.now())
    broke_at = start + CALM_BEFORE
    anchor = (timezone.now(), start)
    # One process stands in for the engine and the workers, so a slow pass of it is virtual
    # minutes long: its own liveness is judged in real seconds (not what the replay measures),
    # and the jobs that watch our own probes and queue for silence stay out of the story.
    engine = {
        **settings.ENGINE,
        "HEARTBEAT_SECONDS": settings.ENGINE["HEARTBEAT_SECONDS"] * speed,
        "HOUSEKEEPING": [j for j in settings.ENGINE["HOUSEKEEPING"] if j not in SELF_WATCH],
    }
    with override_settings(DEMO_CLOCK_SPEED=speed, DEMO_CLOCK_ANCHOR=anchor, ENGINE=engine):
        cast(clock.now())
        Probe.objects.update(next_run_at=None)  # due at once on the sped-up clock
        run_story(demo, drivers, broke_at, broke_at + timedelta(minutes=minutes))
        incident = Incident.objects.filter(started_at__gte=broke_at).order_by("started_at").first()
        record = {
            "speed": speed,
            "broke_at": broke_at,
            "ended_at": clock.now(),
            "incident": incident.public_id if incident else None,
            "heard": reach.as_record(reach.measure(incident, broke_at)) if incident else [],
            "sandbox": sandbox_counts(),
        }
    return json.loads(json.dumps(record, default=str))


def run_story(demo: DemoServer, drivers: Drivers, broke_at: datetime, end: datetime) -> None:
    uploader = Uploader(demo.state, drivers.ping, UPLOAD_EVERY_SECONDS)
    every = timedelta(seconds=UPLOAD_EVERY_SECONDS)
    last_upload: datetime | None = None
    while (now := clock.now()) < end:
        if now >= broke_at and demo.state.backlog_since is None:
            demo.state.start_backlog()
        if last_upload is None or now - last_upload >= every:
            uploader.upload_once()
            last_upload = now
        drivers.engine_pass()


def sandbox_counts() -> dict:
    """What each provider in the sandbox received, as the sandbox itself counts it."""
    if not settings.SANDBOX_URL:
        return {}
    try:
        with urllib.request.urlopen(f"{settings.SANDBOX_URL}/_sandbox/counts", timeout=5) as reply:
            return json.load(reply)
    except (OSError, ValueError):
        return {}
