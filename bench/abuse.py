"""Issue 16's attacks on logins, proxies and sign-ups, made over HTTP against a real web
process (`manage.py runall --only web,sandbox`) on loopback, with the counts
docs/RELIABILITY.md ("Security: logins, proxies and sign-ups") reports.

This process plays the TLS proxy: the server trusts 127.0.0.0/8 (TRUSTED_PROXIES) and each
simulated visitor is the X-Forwarded-For hop the proxy appends.

    .venv/bin/python -m bench.abuse [--port 18400]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "a-long-abuse-password"
NOT_MOBILES = [
    "+1 900 555 1234",
    "+44 909 123 4567",
    "+44 871 234 5678",
    "+33 8 99 12 34 56",
    "+49 900 1 234567",
    "+31 909 123 4567",
    "+353 1570 123456",
    "+1 800 555 0199",
    "+44 20 7946 0000",
]


def server_env(var_dir: str, port: int) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "STATUSPAGE_VAR_DIR": var_dir,
        "DATABASE_URL": "",
        "REDIS_URL": "",
        "PORT": str(port),
        "SANDBOX_PORT": str(port + 1),
        "SANDBOX_URL": f"http://127.0.0.1:{port + 1}",
        "DEMO_SERVICE_PORT": str(port + 2),
        "TRUSTED_PROXIES": "127.0.0.0/8",
        "SMS_CONFIRMATIONS_PER_HOUR": "30",
    }


def manage(env: dict[str, str], *args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True)


def wait_for(url: str) -> None:
    for _ in range(200):
        try:
            requests.get(url, timeout=1)
            return
        except requests.RequestException:
            time.sleep(0.1)
    raise SystemExit(f"{url} did not answer")


class Visitor:
    """One client behind the proxy: its own session, its own X-Forwarded-For hop."""

    def __init__(self, base: str, address: str) -> None:
        self.base, self.session = base, requests.Session()
        self.session.headers["X-Forwarded-For"] = address

    def post_form(self, path: str, data: dict) -> requests.Response:
        self.session.get(self.base + path, timeout=10)
        token = self.session.cookies.get("csrftoken", "")
        return self.session.post(
            self.base + path,
            {**data, "csrfmiddlewaretoken": token},
            headers={"Referer": self.base + path},
            allow_redirects=False,
            timeout=10,
        )


def logins(base: str) -> list[str]:
    attacker, owner = Visitor(base, "203.0.113.5"), Visitor(base, "198.51.100.7")
    admin = "/admin/login/?next=/admin/"
    wrong = Counter(
        attacker.post_form(admin, {"username": "staff", "password": "x"}).status_code
        for _ in range(30)
    )
    right = attacker.post_form(admin, {"username": "staff", "password": PASSWORD}).status_code
    console = attacker.post_form(
        "/manage/login/", {"username": "staff", "password": PASSWORD}
    ).status_code
    mine = owner.post_form("/manage/login/", {"username": "staff", "password": PASSWORD})
    sprayer = Visitor(base, "203.0.113.9")
    spray = Counter(
        sprayer.post_form("/manage/login/", {"username": f"user{n}", "password": "x"}).status_code
        for n in range(100)
    )
    return [
        f"30 wrong passwords at /admin/login/ from one client: {dict(wrong)}",
        f"then the right one there: {right}; at /manage/login/: {console}",
        f"the owner from another client, right password: {mine.status_code}",
        f"100 usernames sprayed from one client: {dict(spray)}",
    ]


def sign_ups(base: str) -> list[str]:
    one = Visitor(base, "203.0.113.20")
    refused = Counter(
        one.post_form("/subscribe/", {"channel": "sms", "phone": phone}).status_code
        for phone in NOT_MOBILES
    )
    burst_client = Visitor(base, "2001:db8:77:1::1")
    burst = Counter()
    for n in range(18):
        burst_client.session.headers["X-Forwarded-For"] = f"2001:db8:77:1::{n + 1:x}"
        phone = f"+1 415 555 01{n:02}"
        burst[
            burst_client.post_form("/subscribe/", {"channel": "sms", "phone": phone}).status_code
        ] += 1
    crowd = Counter(
        Visitor(base, f"192.0.2.{n + 1}")
        .post_form("/subscribe/", {"channel": "sms", "phone": f"+1 415 555 02{n:02}"})
        .status_code
        for n in range(40)
    )
    return [
        f"{len(NOT_MOBILES)} premium-rate, toll-free and UK landline numbers: {dict(refused)}",
        f"18 SMS sign-ups in a burst from one IPv6 /64 (18 addresses): {dict(burst)}",
        f"40 SMS sign-ups from 40 clients, site budget 30 an hour: {dict(crowd)}",
    ]


def webhook(base: str) -> list[str]:
    from notifiers.subscribers import Subscriber

    url = f"{base.rsplit(':', 1)[0]}:{int(base.rsplit(':', 1)[1]) + 1}/_sandbox/hooks/victim"
    owner = Visitor(base, "198.51.100.30")
    first = owner.post_form(
        "/subscribe/", {"channel": "webhook", "url": url, "webhook_format": "statuspage"}
    )
    before = Subscriber.objects.filter(channel="webhook", address=url).first()
    if before is None:
        raise SystemExit(f"the owner's webhook was not added ({first.status_code}): {first.text}")
    shown = 0
    for n in range(20):
        page = Visitor(base, f"203.0.113.{100 + n}").post_form(
            "/subscribe/", {"channel": "webhook", "url": url, "webhook_format": "slack"}
        )
        shown += "signing-secret" in page.text
    after = Subscriber.objects.get(id=before.id)
    same = (after.signing_secret, after.webhook_format) == (
        before.signing_secret,
        before.webhook_format,
    )
    return [f"20 anonymous re-subscribes of a webhook URL: secret shown {shown}, unchanged: {same}"]


def push(base: str) -> list[str]:
    session = requests.Session()
    session.headers["X-Forwarded-For"] = "203.0.113.50"
    answers = Counter(
        session.post(
            f"{base}/api/v1/push/devices", json={"fid": f"fid-{n}"}, timeout=10
        ).status_code
        for n in range(80)
    )
    return [f"80 push registrations from one client: {dict(answers)}"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=int(os.environ.get("ABUSE_PORT", "18400")))
    port = parser.parse_args().port
    with tempfile.TemporaryDirectory() as var_dir:
        env = server_env(var_dir, port)
        os.environ.update({k: v for k, v in env.items() if k not in ("PORT",)})
        manage(env, "migrate", "-v0")
        manage(
            env,
            "shell",
            "-c",
            "from django.contrib.auth.models import User;"
            f"User.objects.create_user('staff', 'staff@example.org', '{PASSWORD}', is_staff=True)",
        )
        server = subprocess.Popen(
            [
                sys.executable,
                "manage.py",
                "runall",
                "--no-demo",
                "--only",
                "web,sandbox",
                "--port",
                str(port),
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            wait_for(f"{base}/healthz")
            import django

            django.setup()
            for attack in (logins, sign_ups, webhook, push):
                for line in attack(base):
                    print(line, flush=True)
        finally:
            os.killpg(server.pid, 15)
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
