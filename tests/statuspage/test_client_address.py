"""Who the client is behind our proxies (TRUSTED_PROXIES: a hop count or the proxies'
networks), and that every per-client limit keys on it: one budget per visitor, not one
for everyone behind the proxy; an IPv6 client is its /64."""

from __future__ import annotations

import pytest
from django.test import RequestFactory

from statuspage.clients import client_key
from statuspage.models import Component, Probe
from tests.factories import make_component


def key(settings, trusted: str, remote: str, forwarded: str | None = None) -> str:
    settings.TRUSTED_PROXIES = trusted
    meta = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded
    return client_key(RequestFactory().get("/", **meta))


@pytest.mark.parametrize(
    ("trusted", "remote", "forwarded", "client"),
    [
        ("", "10.0.0.2", "203.0.113.5", "10.0.0.2"),  # no proxy trusted: the header is ignored
        ("1", "10.0.0.2", "203.0.113.5", "203.0.113.5"),
        ("1", "10.0.0.2", "198.51.100.1, 203.0.113.5", "203.0.113.5"),  # a forged first hop
        ("2", "10.0.0.3", "198.51.100.1, 203.0.113.5, 10.0.0.2", "203.0.113.5"),
        ("2", "10.0.0.3", "203.0.113.5", "10.0.0.3"),  # not through both proxies
        ("10.0.0.0/8", "10.0.0.3", "198.51.100.1, 203.0.113.5, 10.0.0.2", "203.0.113.5"),
        ("10.0.0.0/8", "192.0.2.9", "203.0.113.5", "192.0.2.9"),  # not from our proxy
        ("10.0.0.0/8, fd00::/8", "fd00::2", "2001:db8:1:2:aaaa::1", "2001:db8:1:2::"),
        ("", "2001:db8:1:2:3:4:5:6", None, "2001:db8:1:2::"),
        ("", "::ffff:192.0.2.4", None, "192.0.2.4"),
        ("1", "10.0.0.2", "not-an-address", "0.0.0.0"),
    ],
)
def test_the_client_is_the_hop_our_proxies_saw(settings, trusted, remote, forwarded, client):
    assert key(settings, trusted, remote, forwarded) == client


@pytest.mark.django_db
def test_behind_a_proxy_each_visitor_has_its_own_subscribe_budget(client, settings):
    settings.TRUSTED_PROXIES = "1"
    settings.NOTIFIERS = {**settings.NOTIFIERS, "SUBSCRIBE_PER_IP_PER_HOUR": 2}
    proxy = {"REMOTE_ADDR": "10.0.0.2"}
    statuses = [
        client.post(
            "/subscribe/",
            {"channel": "email", "email": f"p{n}@example.org"},
            HTTP_X_FORWARDED_FOR=f"203.0.113.{n // 2}",
            **proxy,
        ).status_code
        for n in range(4)
    ]
    assert statuses == [200, 200, 200, 200]
    third = client.post(
        "/subscribe/",
        {"channel": "email", "email": "p9@example.org"},
        HTTP_X_FORWARDED_FOR="203.0.113.1",
        **proxy,
    )
    assert third.status_code == 429


@pytest.mark.django_db
def test_behind_a_proxy_ping_limits_are_per_visitor(client, settings):
    settings.TRUSTED_PROXIES = "10.0.0.0/8"
    settings.RATE_LIMITS = {
        **settings.RATE_LIMITS,
        "ping": {"PER_IP": 2, "PER_DESTINATION": 100, "WINDOW_SECONDS": 60},
    }
    component = Component.objects.first() or make_component()
    probe = Probe.objects.create(
        component=component, name="job", kind=Probe.Kind.HEARTBEAT, interval_seconds=300
    )
    url = f"/ping/{probe.ping_key}"
    one = {"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": "203.0.113.5"}
    other = {"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": "203.0.113.6"}
    assert [client.get(url, **one).status_code for _ in range(3)] == [200, 200, 429]
    assert client.get(url, **other).status_code == 200
