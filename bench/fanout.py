"""Fan-out benchmark: one incident update to N subscribers on push, email and SMS.

    python bench/fanout.py [--subscribers 100000] [--million] [--postgres URL] [--no-postgres]

Everything runs against the provider sandbox (started here, on a free loopback port, in
its own process, keeping only counts of what it receives). Each measurement runs in a
fresh process so its peak RSS is its own:

- ``ceiling``: each SDK called in a tight loop against the same sandbox, no database,
  sending the very requests the pipeline sends (built before the clock starts by the
  channel's own render and payload code): firebase-admin ``send_each`` (500 device
  messages a call), SendGrid mail send (1000 personalizations a request), twilio
  ``messages.create`` one by one. Measured just before and just after each channel's
  pipeline run, so a machine whose speed drifts compares like with like.
- ``seed``: N subscribers, a third per channel, and one incident (not timed); on
  PostgreSQL then ANALYZE, the statistics autovacuum keeps for a live database.
- ``worker C``: our pipeline for one channel as the default cluster (two task-queue
  workers) runs it: this process announces and runs ``fan_out`` (streams subscribers
  into the outbox); a second process (``sender``, warmed up before the clock starts)
  runs ``send_due`` from the moment fan-out's first chunk is written until nothing is
  pending, as the other cluster worker would. The tasks are called directly (the broker
  only carries task ids). SMS pacing is lifted (SMS_PER_SECOND=1e9) to measure our
  speed, not a sender's limit.

Each channel's row also gives the CPU time per delivery over its pipeline run (from
/proc, Linux only): our two worker processes, the PostgreSQL backends serving them (on
SQLite that work is inside ours) and the sandbox: where the two cores went.

Passes: each channel alone (its rate is compared with its SDK's ceiling), then the three
channels at once in three worker processes (time until every delivery reached the
sandbox). On SQLite, then on PostgreSQL when reachable. Figures go to stdout as a
Markdown table for docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHANNELS = tuple(os.environ.get("BENCH_CHANNELS", "push,email,sms").split(","))
DEFAULT_PG = "postgres://postgres@127.0.0.1:5432/statuspage_bench_fanout"


def django_setup() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def cpu_seconds(pid: int | None) -> float:
    """User + system CPU time a process has used so far (Linux /proc; 0 when unknown)."""
    if not pid:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def database_backend_pid() -> int | None:
    """The PostgreSQL server process serving this process's connection (None on SQLite,
    whose work runs in our own processes)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def peak_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --- ceiling: the SDKs alone -----------------------------------------------------------


def ceiling(channel: str, count: int) -> dict:
    """The SDK alone sending the very requests our pipeline sends for `count` subscribers
    (the channel's own rendering and payload code, built before the clock starts), one
    after another, with no database in the loop."""
    django_setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from statuspage.process import freeze_startup_heap

    payloads, send = sample_requests(channel, count)
    freeze_startup_heap()  # as our workers do (prepare_worker): like against like
    start = time.perf_counter()
    sent = sum(send(payload) for payload in payloads)
    elapsed = time.perf_counter() - start
    return {
        "channel": channel,
        "sent": sent,
        "seconds": elapsed,
        "per_second": sent / elapsed,
        "rss_mb": peak_rss_mb(),
    }


def sample_requests(channel_name: str, count: int) -> tuple[list, object]:
    """What `count` subscribers of `channel_name` get, as the SDK calls that send it: a list
    of payloads (a request's worth each) and a function sending one, returning how many
    messages it carried. Email and push repeat a few distinct requests (building a
    thousand-recipient body per request would only measure memory)."""
    import uuid

    from notifiers.models import Announcement, ClaimedDelivery, ClaimedSubscriber, Recipients
    from notifiers.registry import get_channel

    update = ceiling_update()
    channel = get_channel(channel_name)
    warm_up(channel_name)
    message = channel.render(
        Announcement(update=update, channel=channel_name, recipients=Recipients.SUBSCRIBERS)
    )
    address = {"push": "fid-ceiling-{}", "email": "c{}@bench.example", "sms": "+1556{:07d}"}[
        channel_name
    ]

    def deliveries(first: int, size: int) -> list:
        return [
            ClaimedDelivery(
                n,
                channel_name,
                address.format(n),
                n,
                1,
                uuid.uuid4(),
                ClaimedSubscriber(
                    n, uuid.uuid4(), channel_name, address.format(n), "", "", "", None
                ),
            )
            for n in range(first, first + size)
        ]

    if channel_name == "email":
        from notifiers.channels.email import sendgrid_client

        client = sendgrid_client()
        bodies = [channel.request_body(message, deliveries(i * 1000, 1000)) for i in range(5)]
        requests = max(count // 1000, 1)

        def send_email(body: dict) -> int:
            client.send(body)
            return len(body["personalizations"])

        return [bodies[i % len(bodies)] for i in range(requests)], send_email
    if channel_name == "push":
        from firebase_admin import messaging

        from notifiers.channels.push import firebase_app

        app = firebase_app()
        batches = [[channel.build(message, d) for d in deliveries(i * 500, 500)] for i in range(5)]
        calls = max(count // 500, 1)
        return [batches[i % len(batches)] for i in range(calls)], lambda batch: len(
            messaging.send_each(batch, app=app).responses
        )
    from notifiers.channels.sms import status_callback_base, twilio_client, twilio_config

    client, _ = twilio_client()
    config = twilio_config()
    callback = status_callback_base()
    calls = [
        {
            "to": d.target,
            "body": message.body,
            "messaging_service_sid": config["MESSAGING_SERVICE_SID"],
            "validity_period": config["SMS_VALIDITY_SECONDS"],
            "status_callback": f"{callback}{d.id}",
        }
        for d in deliveries(0, count)
    ]

    def send_sms(call: dict) -> int:
        client.messages.create(**call)
        return 1

    return calls, send_sms


def ceiling_update():
    from statuspage.models import Component

    if not Component.objects.exists():
        Component.objects.create(name="Follow app alerts", advice="Check glucose with a meter.")
    from incidents.models import IncidentUpdate

    return IncidentUpdate.objects.get(id=new_update("ceiling"))


# --- seed and worker: our pipeline -------------------------------------------------------


def seed(subscribers: int) -> dict:
    django_setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("flush", interactive=False, verbosity=0)
    from datetime import datetime

    from notifiers.subscribers import Subscriber
    from statuspage.models import Component

    Component.objects.create(name="Follow app alerts", advice="Check glucose with a meter.")
    now = datetime.now(UTC)
    addresses = {
        "push": lambda i: f"fid-bench-{i}",
        "email": lambda i: f"person{i}@bench.example",
        "sms": lambda i: f"+1555{i:07d}",
    }
    batch = []
    for i in range(subscribers):
        channel = CHANNELS[i % len(CHANNELS)]
        batch.append(
            Subscriber(
                channel=channel,
                address=addresses[channel](i),
                confirmed_at=now,
                created_at=now,
                updated_at=now,
            )
        )
        if len(batch) == 10_000:
            Subscriber.objects.bulk_create(batch)
            batch = []
    Subscriber.objects.bulk_create(batch)
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")  # the statistics autovacuum gives a live database
    return {"subscribers": Subscriber.objects.count()}


def new_update(label: str) -> int:
    """A fresh incident and its opening update, so each pass starts with an empty outbox."""
    from datetime import datetime

    from incidents.models import AffectedComponent, Incident, IncidentUpdate
    from statuspage.models import Component

    now = datetime.now(UTC)
    incident = Incident.objects.create(
        name=f"Bench {label}",
        impact="critical",
        started_at=now,
        detected_at=now,
        created_at=now,
        updated_at=now,
    )
    AffectedComponent.objects.create(
        incident=incident, component=Component.objects.get(), status="major_outage"
    )
    update = IncidentUpdate.objects.create(
        incident=incident,
        kind="opened",
        status="investigating",
        body="Alerts are delayed.",
        display_at=now,
        created_at=now,
        updated_at=now,
    )
    return update.id


def warm_up(channel: str) -> None:
    """What a long-running worker has already done once: set up the SDK's client (push:
    generate the sandbox service account, load the firebase app), load the URLconf."""
    if channel == "push":
        from notifiers.channels.push import firebase_app

        firebase_app()
    elif channel == "sms":
        from notifiers.channels.sms import twilio_client

        twilio_client()
    elif channel == "email":
        from notifiers.channels.context import link_maker

        link_maker()  # the first reverse() loads the URLconf


def prepare_worker(channel: str) -> None:
    """A task-queue worker's process, ready to run this channel's tasks itself."""
    django_setup()
    from django.conf import settings
    from django_q.signals import post_spawn

    from notifiers.delivery import dispatch
    from notifiers.registry import get_channel

    settings.TWILIO = {**settings.TWILIO, "SMS_PER_SECOND": 1e9}
    settings.NOTIFIERS = {**settings.NOTIFIERS, "SEND_SLICE_SECONDS": 1e9}
    dispatch.FAN_OUT_SLICE_SECONDS = 1e9
    dispatch.enqueue = lambda *args: None  # the bench's processes run the tasks themselves
    get_channel(channel)  # imports every channel module (SDKs) before the clock starts
    warm_up(channel)
    post_spawn.send(sender="django_q", proc_name="bench")  # what a cluster worker does at start


def worker(channel: str, update_id: int) -> dict:
    """Our pipeline for one channel as the default cluster (two workers) runs it: this
    process announces and fans out; a second one, started and warmed up before the clock,
    runs the announcement's send task as soon as fan-out's first chunk queues it (as the
    other cluster worker would) until every delivery has been sent."""
    prepare_worker(channel)
    from incidents.models import IncidentUpdate
    from notifiers.delivery import dispatch
    from notifiers.models import Recipients

    sender = subprocess.Popen(
        [sys.executable, __file__, "sender", channel, str(update_id)],
        env=os.environ,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    ready = sender.stdout.readline().split()
    if not ready or ready[0] != "ready":
        raise SystemExit("the sender process did not start")
    update = IncidentUpdate.objects.get(id=update_id)
    backend, sender_backend = database_backend_pid(), int(ready[1]) or None
    sandbox = int(os.environ.get("BENCH_SANDBOX_PID", 0))
    cpu_before = {
        "ours": cpu_seconds(os.getpid()) + cpu_seconds(sender.pid),
        "database": cpu_seconds(backend) + cpu_seconds(sender_backend),
        "sandbox": cpu_seconds(sandbox),
    }
    start = time.perf_counter()
    announcement = dispatch.announce(
        update, channel, Recipients.SUBSCRIBERS, None, update.created_at
    )
    retried = run_task(dispatch.fan_out, announcement.id)
    fanned = time.perf_counter()
    sent_by = json.loads(sender.communicate()[0].strip().splitlines()[-1])
    cpu_after = {
        "ours": cpu_seconds(os.getpid()) + sent_by["cpu_s"],
        "database": cpu_seconds(backend) + sent_by["database_cpu_s"],
        "sandbox": cpu_seconds(sandbox),
    }
    counts = announcement.progress()["counts"]
    return {
        "channel": channel,
        "deliveries": sum(counts.values()),
        "sent": counts["sent"],
        "fan_out_s": fanned - start,
        "total_s": sent_by["done"] - start,
        "per_second": counts["sent"] / (sent_by["done"] - start),
        "rss_mb": max(peak_rss_mb(), sent_by["rss_mb"]),
        "task_retries": retried + sent_by["task_retries"],
        "cpu_s": {part: cpu_after[part] - cpu_before[part] for part in cpu_before},
    }


def sender(channel: str, update_id: int) -> dict:
    """The second worker: runs the announcement's send task until fan-out has finished
    and nothing is pending. Returns when it finished (perf_counter, the same clock in
    every process) and its peak RSS."""
    prepare_worker(channel)
    from notifiers.delivery import dispatch
    from notifiers.models import Announcement, DeliveryState, Recipients

    backend = database_backend_pid()
    print("ready", backend or 0, flush=True)
    announcements = Announcement.objects.filter(
        update_id=update_id, channel=channel, recipients=Recipients.SUBSCRIBERS
    )
    while not (announcement := announcements.first()):
        time.sleep(0.005)
    retried = 0
    while True:
        fanned_out = announcements.filter(fanned_out_at__isnull=False).exists()
        if fanned_out and not announcement.deliveries.filter(state=DeliveryState.PENDING).exists():
            break
        announcements.update(send_queued_at=None)
        retried += run_task(dispatch.send_due, announcement.id)
        if not fanned_out:
            time.sleep(0.005)  # what polling the broker for the next queued send costs
    return {
        "done": time.perf_counter(),
        "rss_mb": peak_rss_mb(),
        "task_retries": retried,
        "cpu_s": cpu_seconds(os.getpid()),
        "database_cpu_s": cpu_seconds(backend),
    }


def run_task(task, *args) -> int:
    """Run a task as the cluster would, again after a failure (SQLite's "database is
    locked" under concurrent writers): the rows make a re-run safe. Returns the re-runs."""
    from django.db import OperationalError, close_old_connections

    for attempt in range(20):
        try:
            task(*args)
            return attempt
        except OperationalError as error:
            print(f"{task.__name__} failed ({error}); running it again", file=sys.stderr)
            close_old_connections()
            time.sleep(0.5)
    raise SystemExit(f"{task.__name__} kept failing")


# --- orchestration ----------------------------------------------------------------------


def run_json(args: list[str], env: dict) -> dict:
    output = subprocess.run(
        [sys.executable, __file__, *args],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def start_sandbox(env: dict) -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "manage.py"),
            "sandbox",
            "--port",
            "0",
            "--record-limit",
            "1000",
        ],
        env={**env, "LOG_LEVEL": "WARNING"},
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    line = process.stdout.readline()
    match = re.search(r"(http://127\.0\.0\.1:\d+)", line)
    if not match:
        process.terminate()
        raise SystemExit(f"the sandbox did not start: {line!r}")
    return process, match.group(1)


def sandbox_counts(url: str) -> dict:
    import urllib.request

    with urllib.request.urlopen(f"{url}/_sandbox/counts", timeout=10) as response:
        return json.loads(response.read())


CEILING_SAMPLES = {"push": 5000, "email": 50_000, "sms": 3000}


def measure_ceiling(env: dict, channel: str, runs: int) -> list[float]:
    env = {
        **env,
        "DATABASE_URL": f"sqlite:///{Path(env['STATUSPAGE_VAR_DIR']) / 'ceiling.sqlite3'}",
    }  # renders the message, not timed
    return [
        run_json(["ceiling", channel, str(CEILING_SAMPLES[channel])], env)["per_second"]
        for _ in range(runs)
    ]


def database_pass(
    name: str, env: dict, ceiling_env: dict, runs: int, subscribers: int, sandbox_url: str, progress
) -> dict:
    run_json(["seed", str(subscribers)], env)
    alone = {}
    for channel in CHANNELS:
        # The ceiling is measured just before and just after the pipeline, so a machine
        # whose speed drifts (shared cores) compares like with like.
        samples = measure_ceiling(ceiling_env, channel, max(runs - 1, 1))
        update_id = int(run_json(["update", channel], env)["update_id"])
        alone[channel] = run_json(["worker", channel, str(update_id)], env)
        samples += measure_ceiling(ceiling_env, channel, 1)
        alone[channel]["ceiling_samples"] = samples
        alone[channel]["ceiling"] = statistics.median(samples)
        progress({"database": name, "alone": alone})
    update_id = int(run_json(["update", "together"], env)["update_id"])
    before = sandbox_counts(sandbox_url)
    start = time.time()
    processes = [
        subprocess.Popen(
            [sys.executable, __file__, "worker", c, str(update_id)],
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        for c in CHANNELS
    ]
    together = [json.loads(p.communicate()[0].strip().splitlines()[-1]) for p in processes]
    wall = time.time() - start
    after = sandbox_counts(sandbox_url)
    received = sum(
        after.get(k, 0) - before.get(k, 0) for k in ("fcm/push", "sendgrid/email", "twilio/sms")
    )
    return {
        "database": name,
        "alone": alone,
        "together": together,
        "together_wall_s": wall,
        "together_received": received,
    }


def postgres_reachable(url: str) -> bool:
    import psycopg

    admin_url = url.rsplit("/", 1)[0] + "/postgres"
    database = url.rsplit("/", 1)[1]
    try:
        with psycopg.connect(admin_url, autocommit=True, connect_timeout=3) as connection:
            exists = connection.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (database,)
            ).fetchone()
            if not exists:
                connection.execute(f'CREATE DATABASE "{database}"')
        return True
    except psycopg.Error:
        return False


def report(args, passes: list[dict]) -> str:
    bench_args = f' BENCH_ARGS="{" ".join(sys.argv[1:])}"' if sys.argv[1:] else ""
    lines = [
        f"Command: `make bench-fanout{bench_args}` "
        f"({args.subscribers:,} subscribers spread over {', '.join(CHANNELS)}; each ceiling the median of "
        f"{max(args.runs - 1, 1)} run(s) just before that channel's pipeline and 1 just after)",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"load average {os.getloadavg()[0]:.1f} at the end.",
        "",
        "| database | channel | deliveries | fan-out s | total s | our deliveries/s | SDK ceiling/s | ratio | peak RSS MB "
        "| CPU µs per delivery: ours / database server / sandbox |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for result in passes:
        for channel in CHANNELS:
            row = result["alone"][channel]
            ratio = row["per_second"] / row["ceiling"]
            lines.append(
                f"| {result['database']} | {channel} | {row['sent']:,} | {row['fan_out_s']:.1f} | {row['total_s']:.1f} "
                f"| {row['per_second']:,.0f} | {row['ceiling']:,.0f} | {ratio:.0%} | {row['rss_mb']:.0f} "
                f"| {cpu_per_delivery(row)} |"
            )
    lines += [
        "",
        "| database | all three channels at once: wall time to the last delivery | received by the sandbox | worst worker peak RSS MB |",
        "|---|---:|---:|---:|",
    ]
    for result in passes:
        worst = max(r["rss_mb"] for r in result["together"])
        lines.append(
            f"| {result['database']} | {result['together_wall_s']:.1f} s | {result['together_received']:,} | {worst:.0f} |"
        )
    return "\n".join(lines)


def cpu_per_delivery(row: dict) -> str:
    """CPU time over the pipeline run per delivery sent: our two worker processes, the
    database server's processes serving them (none on SQLite), the sandbox."""
    cpu = row["cpu_s"]
    return " / ".join(
        f"{cpu[part] / max(row['sent'], 1) * 1e6:.0f}" for part in ("ours", "database", "sandbox")
    )


def save(workdir: Path, passes: list[dict]) -> None:
    """Raw figures after each stage, so a failed later stage loses nothing measured."""
    path = workdir / "results.json"
    path.write_text(json.dumps({"passes": passes}, indent=1))
    print(f"raw figures: {path}", file=sys.stderr)


def main() -> None:
    global CHANNELS
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=100_000)
    parser.add_argument("--million", action="store_true", help="1,000,000 subscribers")
    parser.add_argument("--postgres", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_PG))
    parser.add_argument(
        "--redis", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
    )
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument(
        "--runs", type=int, default=3, help="ceiling runs per SDK (the median is kept)"
    )
    parser.add_argument(
        "--channels",
        default=",".join(CHANNELS),
        help="comma-separated subset of push,email,sms (subscribers are spread over them)",
    )
    args = parser.parse_args()
    os.environ["BENCH_CHANNELS"] = args.channels  # the worker processes read it
    CHANNELS = tuple(args.channels.split(","))
    if args.million:
        args.subscribers = 1_000_000
    workdir = Path(tempfile.mkdtemp(prefix="bench-fanout-"))
    base_env = {
        **os.environ,
        "STATUSPAGE_VAR_DIR": str(workdir),
        "LOG_LEVEL": "WARNING",
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1",
        "STATUSPAGE_URL": "http://127.0.0.1:9",
        "DATABASE_URL": f"sqlite:///{workdir / 'bench.sqlite3'}",
        "REDIS_URL": "",
    }
    sandbox, sandbox_url = start_sandbox(base_env)
    env = {**base_env, "SANDBOX_URL": sandbox_url, "BENCH_SANDBOX_PID": str(sandbox.pid)}
    try:
        print(f"sandbox at {sandbox_url}", file=sys.stderr)
        passes = []
        if not args.no_sqlite:
            passes.append(
                database_pass(
                    "SQLite",
                    env,
                    env,
                    args.runs,
                    args.subscribers,
                    sandbox_url,
                    lambda partial: save(workdir, [*passes, partial]),
                )
            )
            save(workdir, passes)
        if not args.no_postgres and postgres_reachable(args.postgres):
            pg_env = {**env, "DATABASE_URL": args.postgres, "REDIS_URL": args.redis}
            passes.append(
                database_pass(
                    "PostgreSQL",
                    pg_env,
                    env,
                    args.runs,
                    args.subscribers,
                    sandbox_url,
                    lambda partial: save(workdir, [*passes, partial]),
                )
            )
    finally:
        sandbox.terminate()
        sandbox.wait()
    save(workdir, passes)
    print(report(args, passes))


def entry() -> None:
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command == "ceiling":
        print(json.dumps(ceiling(sys.argv[2], int(sys.argv[3]))))
    elif command == "seed":
        print(json.dumps(seed(int(sys.argv[2]))))
    elif command == "update":
        django_setup()
        print(json.dumps({"update_id": new_update(sys.argv[2])}))
    elif command == "worker":
        print(json.dumps(worker(sys.argv[2], int(sys.argv[3]))))
    elif command == "sender":
        print(json.dumps(sender(sys.argv[2], int(sys.argv[3]))))
    else:
        main()


if __name__ == "__main__":
    entry()
