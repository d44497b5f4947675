"""Webhook SSRF protection: a subscriber's URL that resolves to a private, loopback,
link-local or reserved address is refused at subscribe time and, because names can
change what they resolve to, again at send time, where the refusal is a permanent error
recorded on the delivery. Only NOTIFIERS["WEBHOOK_ALLOWED_NETWORKS"] lifts it (the test
settings allow loopback for the sandbox; these tests turn that off)."""

from __future__ import annotations

import socket

import pytest
import time_machine

from notifiers.delivery import dispatch
from notifiers.models import Delivery, DeliveryState, Recipients
from notifiers.subscribers import Subscriber
from tests.clock import NOW
from tests.factories import add_update, make_incident, subscribe

pytestmark = pytest.mark.django_db(transaction=True)

LOOPBACK_ONLY = ["127.0.0.0/8", "::1/128"]


@pytest.fixture
def no_private_networks(settings):
    settings.NOTIFIERS = {**settings.NOTIFIERS, "WEBHOOK_ALLOWED_NETWORKS": []}


@pytest.fixture
def dns(monkeypatch):
    """Names of our choosing resolve where a test says (an attacker's DNS); every other
    lookup is the system's."""
    answers: dict[str, list[str]] = {}
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host in answers:
            return [
                (
                    socket.AF_INET6 if ":" in a else socket.AF_INET,
                    socket.SOCK_STREAM,
                    6,
                    "",
                    (a, port or 0),
                )
                for a in answers[host]
            ]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return answers


def hook_on(sandbox, dns, host: str, addresses: list[str], name: str) -> Subscriber:
    """A webhook on the sandbox's port under a name whose DNS answers ``addresses``."""
    port = sandbox.url.rsplit(":", 1)[1]
    dns[host] = addresses
    return subscribe("webhook", f"http://{host}:{port}/_sandbox/hooks/{name}", signing_secret="s")


def send_opened(component, task_queue):
    update = add_update(make_incident(component), "opened")
    with time_machine.travel(NOW, tick=True):
        dispatch.announce(update, "webhook", Recipients.SUBSCRIBERS, None, NOW)
        task_queue()


def test_a_webhook_resolving_to_loopback_is_refused_at_send_time_as_a_permanent_error(
    component, sandbox, task_queue, no_private_networks
):
    hook = subscribe("webhook", f"{sandbox.url}/_sandbox/hooks/internal", signing_secret="s")
    send_opened(component, task_queue)
    delivery = Delivery.objects.get(subscriber=hook)
    assert delivery.state == DeliveryState.FAILED and delivery.permanent_error
    assert delivery.attempts == 1
    assert "127.0.0.1, a loopback address" in delivery.last_error
    assert sandbox.recorder.list(provider="webhook") == []


def test_the_address_a_name_resolves_to_is_checked_at_send_time_not_the_name(
    component, sandbox, task_queue, no_private_networks, dns
):
    metadata = hook_on(sandbox, dns, "hooks.customer.example", ["169.254.169.254"], "a")
    rebound = hook_on(sandbox, dns, "status.customer.example", ["93.184.215.14", "10.0.0.7"], "b")
    send_opened(component, task_queue)
    errors = {
        d.subscriber_id: (d.state, d.permanent_error, d.last_error) for d in Delivery.objects.all()
    }
    assert errors[metadata.id][:2] == (DeliveryState.FAILED, True)
    assert "169.254.169.254, a link-local address" in errors[metadata.id][2]
    assert errors[rebound.id][:2] == (DeliveryState.FAILED, True)
    assert "10.0.0.7, a private address" in errors[rebound.id][2]
    assert sandbox.recorder.list(provider="webhook") == []


def test_ipv4_mapped_ipv6_loopback_is_refused_too(
    component, sandbox, task_queue, no_private_networks, dns
):
    hook = hook_on(sandbox, dns, "mapped.customer.example", ["::ffff:127.0.0.1"], "c")
    send_opened(component, task_queue)
    delivery = Delivery.objects.get(subscriber=hook)
    assert delivery.permanent_error and "a loopback address" in delivery.last_error


def test_the_allow_list_lets_a_named_network_through(component, sandbox, task_queue, settings, dns):
    settings.NOTIFIERS = {**settings.NOTIFIERS, "WEBHOOK_ALLOWED_NETWORKS": LOOPBACK_ONLY}
    hook = hook_on(sandbox, dns, "hooks.internal.example", ["127.0.0.1"], "ok")
    send_opened(component, task_queue)
    assert Delivery.objects.get(subscriber=hook).state == DeliveryState.SENT
    [call] = sandbox.recorder.list(provider="webhook", target="ok")
    assert call["payload"]["headers"]["X-Statuspage-Signature"]


@pytest.mark.parametrize(
    ("url", "answers"),
    [
        ("http://127.0.0.1:8001/hook", None),
        ("http://localhost:8001/hook", None),
        ("http://[::1]:8001/hook", None),
        ("https://hooks.customer.example/hook", ["192.168.1.20"]),
        ("https://hooks.customer.example/hook", ["93.184.215.14", "fd00::1"]),
        ("https://hooks.customer.example/hook", ["100.64.0.1"]),
    ],
)
def test_subscribing_a_webhook_that_resolves_to_a_private_address_is_refused(
    client, no_private_networks, dns, url, answers
):
    if answers:
        dns["hooks.customer.example"] = answers
    response = client.post("/subscribe/", {"channel": "webhook", "url": url})
    assert response.status_code == 400
    assert "The URL must point to a public host." in response.content.decode()
    assert Subscriber.objects.count() == 0


def test_subscribing_a_webhook_whose_host_does_not_resolve_says_so(client, dns, monkeypatch):
    def nowhere(host, *args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", nowhere)
    response = client.post(
        "/subscribe/", {"channel": "webhook", "url": "https://hooks.nowhere.example/x"}
    )
    assert response.status_code == 400
    assert "We could not find the host hooks.nowhere.example." in response.content.decode()
