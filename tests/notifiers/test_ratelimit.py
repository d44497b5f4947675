"""The rate limiter is generic: any scope of settings.RATE_LIMITS (or the subscribe forms')
counts attempts per client address and per destination, and says when to retry."""

from datetime import UTC, datetime, timedelta

import pytest

from notifiers import models as notifier_models
from notifiers.ratelimit import SubscribeAttempt, wait_seconds

T0 = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
EXPORT = {"PER_IP": 3, "PER_DESTINATION": 2, "WINDOW_SECONDS": 60}

pytestmark = pytest.mark.django_db


@pytest.fixture
def export_scope(settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "export": EXPORT}


def test_a_new_scope_needs_only_its_settings(export_scope):
    at = [T0 + timedelta(seconds=s) for s in (0, 10, 20, 30)]
    assert [wait_seconds("export", "10.0.0.1", "report", T0) for _ in range(3)] == [0, 0, 60]
    waits = [wait_seconds("export", "10.0.0.2", f"r{i}", t) for i, t in enumerate(at)]
    assert waits == [0, 0, 0, 30], "per address: free when its first attempt leaves the window"
    assert wait_seconds("export", "10.0.0.1", "report", T0 + timedelta(seconds=60)) == 0


def test_scopes_do_not_share_budgets(export_scope, settings):
    wait_seconds("export", "10.0.0.1", "report", T0)
    wait_seconds("export", "10.0.0.1", "report", T0)
    assert wait_seconds("subscribe", "10.0.0.1", "report", T0) == 0
    assert set(SubscribeAttempt.objects.values_list("scope", flat=True)) == {"export", "subscribe"}


def test_the_attempts_keep_their_table_in_the_notifiers_app():
    assert notifier_models.SubscribeAttempt is SubscribeAttempt
    assert SubscribeAttempt._meta.app_label == "notifiers"
    assert SubscribeAttempt._meta.db_table == "notifiers_subscribeattempt"
