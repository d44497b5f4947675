"""Webhook SSRF protection sees through IPv6 tunnels: a 6to4 (2002::/16) or Teredo
(2001::/32) address embedding a private or metadata IPv4 address is refused like that
address, at subscribe time and at send time (both ask `refusal`)."""

from __future__ import annotations

import pytest

from notifiers.destinations import refusal
from notifiers.subscribers import Subscriber

METADATA_6TO4 = "2002:a9fe:a9fe::1"  # 169.254.169.254
PRIVATE_6TO4 = "2002:0a00:0001::1"  # 10.0.0.1
LOOPBACK_6TO4 = "2002:7f00:0001::1"  # 127.0.0.1
PRIVATE_TEREDO = "2001:0:0a00:1::5601:fffe"  # server 10.0.0.1, client 169.254.0.1


@pytest.fixture
def no_private_networks(settings):
    settings.NOTIFIERS = {**settings.NOTIFIERS, "WEBHOOK_ALLOWED_NETWORKS": []}


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        (METADATA_6TO4, "6to4 link-local"),
        (PRIVATE_6TO4, "6to4 private"),
        (LOOPBACK_6TO4, "6to4 loopback"),
        (PRIVATE_TEREDO, "Teredo private"),
    ],
)
def test_a_tunnel_address_embedding_a_private_ipv4_is_refused(no_private_networks, address, kind):
    reason = refusal("hooks.example", address)
    assert reason is not None and f"a {kind} address" in reason


def test_a_6to4_address_of_a_public_ipv4_is_still_allowed(no_private_networks):
    assert refusal("hooks.example", "2002:5db8:d70e::1") is None  # 93.184.215.14


@pytest.mark.django_db
def test_subscribing_a_webhook_to_the_metadata_service_through_6to4_is_refused(
    client, no_private_networks
):
    response = client.post(
        "/subscribe/", {"channel": "webhook", "url": f"https://[{METADATA_6TO4}]/hook"}
    )
    assert response.status_code == 400
    assert "The URL must point to a public host." in response.content.decode()
    assert not Subscriber.objects.exists()
