import json
import signal
import threading
import urllib.request

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from statuspage.demo.service import DemoServer
from statuspage.demo.setup import demo_service_url, ensure_demo_admin, load_demo


class Command(BaseCommand):
    help = "The demo: load its configuration, serve the demo service, break or fix it."

    def add_arguments(self, parser) -> None:
        parser.add_argument("action", choices=["setup", "serve", "break", "fix", "state"])

    def handle(self, *args, action: str, **options) -> None:
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
        server.serve_forever()
        server.server_close()

    def do_break(self) -> None:
        self.flip("break")
        self.stdout.write("demo service broken: its health check now fails")

    def do_fix(self) -> None:
        self.flip("fix")
        self.stdout.write("demo service fixed: its health check passes again")

    def do_state(self) -> None:
        with urllib.request.urlopen(f"{demo_service_url()}/_demo/state", timeout=5) as reply:
            self.stdout.write(json.dumps(json.load(reply)))

    def flip(self, action: str) -> None:
        request = urllib.request.Request(f"{demo_service_url()}/_demo/{action}", method="POST")
        try:
            urllib.request.urlopen(request, timeout=5).close()
        except OSError as error:
            raise CommandError(
                f"cannot reach the demo service at {demo_service_url()} ({error}); "
                "is `make run` running?"
            ) from error
