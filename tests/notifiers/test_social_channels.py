"""Mastodon (Mastodon.py), Bluesky (atproto), X (tweepy) and a Facebook Page (Graph API
over HTTP), each through its client against the sandbox."""

from __future__ import annotations

from datetime import timedelta

import pytest
import requests
import time_machine

from notifiers.channels.social import Post
from notifiers.delivery import dispatch
from notifiers.models import Delivery, DeliveryState, Recipients, SocialAccount
from tests.clock import NOW
from tests.factories import add_update, make_incident

pytestmark = pytest.mark.django_db(transaction=True)
NETWORKS = ["mastodon", "bluesky", "x", "facebook"]


@pytest.fixture
def accounts(db):
    return {
        "mastodon": SocialAccount.objects.create(
            network="mastodon",
            name="@acme",
            server_url="https://mastodon.example",
            secret_env_prefix="MASTODON_ACME",
        ),
        "bluesky": SocialAccount.objects.create(
            network="bluesky",
            name="acme.bsky.social",
            account="acme.bsky.social",
            secret_env_prefix="BSKY_ACME",
        ),
        "x": SocialAccount.objects.create(network="x", name="@acme", secret_env_prefix="X_ACME"),
        "facebook": SocialAccount.objects.create(
            network="facebook", name="Acme", account="1234567890", secret_env_prefix="FB_ACME"
        ),
    }


def publish(component, task_queue, kind="opened", networks=NETWORKS):
    update = add_update(make_incident(component), kind)
    with time_machine.travel(NOW, tick=True):
        for network in networks:
            dispatch.announce(update, network, Recipients.PUBLIC, None, NOW)
        task_queue()
    return update


def test_every_network_gets_one_post_linking_the_incident(component, accounts, sandbox, task_queue):
    update = publish(component, task_queue)
    permalink = f"/incidents/{update.incident.public_id}"
    posts = {r["provider"]: r for r in sandbox.recorder.list() if r["kind"] == "post"}
    assert set(posts) == set(NETWORKS)
    assert posts["mastodon"]["payload"]["status"].endswith(permalink)
    assert posts["mastodon"]["payload"]["visibility"] == "public"
    assert posts["x"]["payload"]["text"].endswith(permalink)
    record = posts["bluesky"]["payload"]["record"]
    [facet] = record["facets"]
    assert facet["features"][0]["uri"].endswith(permalink)
    assert posts["facebook"]["target"] == "1234567890"
    assert posts["facebook"]["payload"]["link"].endswith(permalink)
    assert "access_token" not in posts["facebook"]["payload"]
    for text in (posts["x"]["payload"]["text"], record["text"]):
        assert "Follow app alerts" in text
    ids = dict(Delivery.objects.values_list("channel", "provider_message_id"))
    assert ids["bluesky"].startswith("at://") and all(ids.values())


def test_disabled_accounts_and_other_recipients_get_nothing(
    component, accounts, sandbox, task_queue
):
    SocialAccount.objects.filter(network="x").update(enabled=False)
    update = add_update(make_incident(component), "opened")
    with time_machine.travel(NOW, tick=True):
        dispatch.announce(update, "x", Recipients.PUBLIC, None, NOW)
        dispatch.announce(update, "mastodon", Recipients.SUBSCRIBERS, None, NOW)
        task_queue()
    assert sandbox.recorder.list() == []


def test_long_text_is_cut_but_the_link_is_kept():
    post = Post(text="word " * 100, link="https://status.example/incidents/abc")
    for limit in (280, 300, 500):
        text = post.within(limit)
        assert len(text) <= limit and text.endswith(post.link) and "…" in text


def test_mastodon_retry_after_5xx_posts_once(component, accounts, sandbox, task_queue):
    requests.post(
        f"{sandbox.url}/_sandbox/faults",
        json={"provider": "mastodon", "fail_next": 1, "error_status": 503},
        timeout=5,
    )
    publish(component, task_queue, networks=["mastodon"])
    delivery = Delivery.objects.get()
    assert delivery.state == DeliveryState.PENDING and "503" in delivery.last_error
    later = NOW + timedelta(minutes=5)
    with time_machine.travel(later, tick=True):
        dispatch.retry_due(later)
        task_queue()
    assert Delivery.objects.get().state == DeliveryState.SENT
    assert len(sandbox.recorder.list(provider="mastodon")) == 1


def test_x_refusal_is_permanent_and_never_retried(component, accounts, sandbox, task_queue):
    requests.post(
        f"{sandbox.url}/_sandbox/faults",
        json={"provider": "x", "fail_next": 1, "error_status": 403},
        timeout=5,
    )
    publish(component, task_queue, networks=["x"])
    failed = Delivery.objects.get()
    assert failed.state == DeliveryState.FAILED and failed.permanent_error
    assert "403" in failed.last_error
    later = NOW + timedelta(hours=1)
    with time_machine.travel(later, tick=True):
        assert dispatch.retry_due(later) == 0
