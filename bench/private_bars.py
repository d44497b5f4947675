"""Benchmark: an audience's page at a year of history, rendered without any cache, against
the public page in the same run.

The data set is bench.history's (COMPONENTS components, a year of rollups and uptime days,
INCIDENTS published incidents); then PRIVATE_COMPONENTS of the components are made private
to one audience with a page, and every PRIVATE_EVERY-th incident private to it. Measured,
each as bench.history measures (p50/p95 of REQUESTS uncached requests, median of ROUNDS
rounds, wall-clock and CPU, queries of one request): `/` (the public page: the baseline) and
`/a/<slug>/` read by a member.

    .venv/bin/python -m bench.private_bars [components] [incidents]
"""

from __future__ import annotations

import os
import platform
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import history  # noqa: E402

PRIVATE_COMPONENTS = 10
PRIVATE_EVERY = 5
SLUG = "clinic-network"


def make_audience_page(now) -> None:
    """One audience with a page and a member; some components and incidents private to it."""
    from django.contrib.auth.models import User

    from incidents.models import Incident
    from statuspage.models import Audience, AudienceMember, Component

    audience = Audience.objects.create(
        slug=SLUG, name="Clinic network", push_topic="clinic", private_page=True
    )
    for component in Component.objects.order_by("-id")[:PRIVATE_COMPONENTS]:
        component.private_to.add(audience)
    for incident in Incident.objects.order_by("-started_at")[::PRIVATE_EVERY]:
        incident.private_to.add(audience)
    nurse = User.objects.create_user("nurse", password="a-long-bench-password")
    AudienceMember.objects.create(audience=audience, user=nurse, joined_at=now)


def main() -> None:
    components = int(sys.argv[1]) if len(sys.argv) > 1 else history.COMPONENTS
    incidents = int(sys.argv[2]) if len(sys.argv) > 2 else history.INCIDENTS
    with tempfile.TemporaryDirectory() as var_dir:
        history.setup_django(var_dir)
        from django.contrib.auth.models import User
        from django.test import Client

        from statuspage import clock

        now = clock.now()
        history.beat_for_the_run(now)
        history.make_components(history.BASELINE_COMPONENTS, now - timedelta(days=2))
        history.seed_history(now, components, incidents)
        make_audience_page(now)
        public = Client(HTTP_HOST="127.0.0.1")
        member = Client(HTTP_HOST="127.0.0.1")
        member.force_login(User.objects.get(username="nurse"))
        figures = [
            ("/ (public page: the baseline)", history.measure(public, "/")),
            (f"/a/{SLUG}/ (audience page)", history.measure(member, f"/a/{SLUG}/")),
        ]

    print(
        f"# {components} components ({PRIVATE_COMPONENTS} private), {history.HISTORY_DAYS} days, "
        f"{incidents} incidents (every {PRIVATE_EVERY}th private); "
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, load average {os.getloadavg()[0]:.1f} at the end"
    )
    print(f"# p50/p95 of {history.REQUESTS} uncached requests, median of {history.ROUNDS} rounds")
    print("| answer | wall p50 / p95 ms | CPU p50 / p95 ms | queries | CPU p95 / baseline |")
    print("|---|---:|---:|---:|---:|")
    baseline = figures[0][1].cpu95
    for label, f in figures:
        print(
            f"| {label} | {history.ms(f.p50)} / {history.ms(f.p95)} "
            f"| {history.ms(f.cpu50)} / {history.ms(f.cpu95)} | {f.queries} "
            f"| {f.cpu95 / baseline:.2f} |"
        )


if __name__ == "__main__":
    main()
