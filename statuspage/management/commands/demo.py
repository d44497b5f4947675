import argparse
import json
import signal
import threading
import urllib.request

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from incidents.response.reach import record_path
from statuspage.demo.service import DemoServer, Uploader
from statuspage.demo.setup import (
    UPLOAD_EVERY_SECONDS,
    demo_service_url,
    ensure_demo_admin,
    heartbeat_url,
    load_demo,
)
from statuspage.management import replay_host
from statuspage.management.replay_table import table

ACTIONS = ["setup", "serve", "break", "backlog", "silence", "fix", "state", "replay"]


class Command(BaseCommand):
    help = (
        "The demo: load its configuration, serve the demo service, break it (break: health "
        "check fails; backlog: data falls behind; silence: sensor uploads stop), fix it, or "
        "replay the whole outage on a sped-up clock."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("action", choices=ACTIONS)
        parser.add_argument(
            "--speed",
            type=float,
            default=None,
            help="replay: how many times faster than real time (default DEMO_CLOCK_SPEED, or 20)",
        )
        parser.add_argument(
            "--minutes", type=float, default=30, help="replay: how long after the break to run"
        )
        # The replay's child process, on the database made for it; never for people.
        parser.add_argument("--here", action="store_true", help=argparse.SUPPRESS)

    def handle(self, *args, action: str, **options) -> None:
        if action == "replay":
            self.do_replay(options["speed"], options["minutes"], options["here"])
        else:
            getattr(self, f"do_{action}")()

    def do_setup(self) -> None:
        load_demo()
        ensure_demo_admin()
        self.stdout.write("demo configuration loaded")

    def do_serve(self) -> None:
        server = DemoServer(settings.DEMO_SERVICE_PORT)
        stop = lambda *_: threading.Thread(target=server.shutdown).start()  # noqa: E731
        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        self.stdout.write(f"demo service on {server.url} (health: {server.url}/health)")
        uploader = Uploader(server.state, ping_status_page, UPLOAD_EVERY_SECONDS).start()
        server.serve_forever()
        uploader.stop()
        server.server_close()

    def do_break(self) -> None:
        self.flip("break")
        self.stdout.write("demo service broken: its health check now fails")

    def do_backlog(self) -> None:
        self.flip("backlog")
        self.stdout.write(
            "demo service backlogged: its health check stays green while its data falls "
            "behind (see /metrics); the freshness probe will catch it"
        )

    def do_silence(self) -> None:
        self.flip("silence")
        self.stdout.write(
            "sensor uploads stopped: the heartbeat probe opens a 'no data' incident after "
            "its grace period"
        )

    def do_fix(self) -> None:
        self.flip("fix")
        self.stdout.write("demo service fixed: health, data and uploads are back to normal")

    def do_replay(self, speed: float | None, minutes: float, here: bool) -> None:
        if speed is None:
            speed = settings.DEMO_CLOCK_SPEED if settings.DEMO_CLOCK_SPEED != 1 else 20
        if speed <= 0 or minutes <= 0:
            raise CommandError("--speed and --minutes must be positive")
        if not here:
            if replay_host.run_in_own_database(speed, minutes):
                raise CommandError("the replay failed (see above)")
            return
        self.stdout.write(f"replaying the outage at {speed:g}x: the data falls behind at 01:00")
        record = replay_host.run_here(speed, minutes)
        self.stdout.write(table(record))
        self.stdout.write(f"kept in {record_path()}; the console shows it at /manage/demo/replay")

    def do_state(self) -> None:
        with urllib.request.urlopen(f"{demo_service_url()}/_demo/state", timeout=5) as reply:
            self.stdout.write(json.dumps(json.load(reply)))

    def flip(self, action: str) -> None:
        """Tell the running demo service to fail (or mend) in one of its ways."""
        request = urllib.request.Request(f"{demo_service_url()}/_demo/{action}", method="POST")
        try:
            urllib.request.urlopen(request, timeout=5).close()
        except OSError as error:
            raise CommandError(
                f"cannot reach the demo service at {demo_service_url()} ({error}); "
                "is `make run` running?"
            ) from error


def ping_status_page(body: bytes) -> None:
    """One sensor upload's heartbeat ping to the status page (none before `demo setup`)."""
    try:
        url = heartbeat_url()
    except DatabaseError:
        return  # not migrated yet, or the database is down: the next upload tries again
    if url is not None:
        request = urllib.request.Request(url, data=body, method="POST")
        urllib.request.urlopen(request, timeout=5).close()
