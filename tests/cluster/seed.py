"""What a cluster scenario needs in the cluster's database, written through our own models.

Run by the scenarios in a process of its own, with the cluster's environment (the test
process's Django is on the test database, not the cluster's):

    python -m tests.cluster.seed fanout --subscribers 10000 --channel sms
    python -m tests.cluster.seed probes --count 80 --interval 10 --url http://127.0.0.1:P/p/

Each command prints one JSON object (what the scenario needs to go on: a token, ids).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import timedelta


def setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


ADDRESSES = {
    "sms": lambda i: f"+1555{i:07d}",
    "email": lambda i: f"person{i}@cluster.example",
}
DRILL_POLICY = "Cluster drill"


def fanout(subscribers: int, channel: str) -> dict:
    """Subscribers on one channel, a policy telling them at T+0, and a staff API key: the
    scenario opens the incident through the load balancer and the clock does the rest."""
    from django.contrib.auth import get_user_model

    from incidents.console.api_auth import issue_token
    from incidents.models import Action, EscalationPolicy, EscalationStep
    from notifiers.models import Recipients
    from notifiers.subscribers import Subscriber
    from statuspage import clock
    from statuspage.models import Component

    component = Component.objects.create(name="Follow API")
    now = clock.now()
    address = ADDRESSES[channel]
    for start in range(0, subscribers, 10_000):
        Subscriber.objects.bulk_create(
            Subscriber(
                channel=channel,
                address=address(i),
                confirmed_at=now,
                created_at=now,
                updated_at=now,
            )
            for i in range(start, min(start + 10_000, subscribers))
        )
    policy = EscalationPolicy.objects.create(name=DRILL_POLICY, priority=1)
    EscalationStep.objects.create(
        policy=policy, action=Action.PUBLISH, recipients=Recipients.APP_USERS, channels=["page"]
    )
    EscalationStep.objects.create(
        policy=policy,
        position=1,
        action=Action.PUBLISH,
        recipients=Recipients.SUBSCRIBERS,
        channels=[channel],
    )
    analyze()
    user = get_user_model().objects.create_superuser("drill", "drill@cluster.example", None)
    return {"token": issue_token(user, "cluster drill"), "component": component.public_id}


def probes(count: int, interval: int, url: str) -> dict:
    """`count` HTTP probes of `url` + n, spread evenly over one interval from now."""
    from statuspage import clock
    from statuspage.models import Component, Probe

    components = Component.objects.bulk_create(
        Component(name=f"Service {i:02d}") for i in range(max(count // 10, 1))
    )
    start = clock.now() + timedelta(seconds=2)
    Probe.objects.bulk_create(
        Probe(
            component=components[i % len(components)],
            name=f"probe {i}",
            url=f"{url}{i}",
            interval_seconds=interval,
            timeout_seconds=5,
            next_run_at=start + timedelta(seconds=interval * i / count),
        )
        for i in range(count)
    )
    return {"probes": count, "first_run": start.isoformat()}


def analyze() -> None:
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.cluster.seed")
    commands = parser.add_subparsers(dest="command", required=True)
    fan = commands.add_parser("fanout")
    fan.add_argument("--subscribers", type=int, default=10_000)
    fan.add_argument("--channel", choices=sorted(ADDRESSES), default="sms")
    probe = commands.add_parser("probes")
    probe.add_argument("--count", type=int, default=80)
    probe.add_argument("--interval", type=int, default=10)
    probe.add_argument("--url", required=True)
    args = parser.parse_args(argv)
    setup()
    if args.command == "fanout":
        result = fanout(args.subscribers, args.channel)
    else:
        result = probes(args.count, args.interval, args.url)
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])
