"""The per-provider circuit breaker, as every send task records its batches."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from notifiers.providers import ProviderState
from tests.clock import NOW

pytestmark = pytest.mark.django_db


def test_a_batch_that_went_through_closes_the_breaker_and_clears_the_count():
    ProviderState.objects.create(
        provider="sendgrid", consecutive_failures=7, open_until=NOW + timedelta(seconds=60)
    )
    ProviderState.record_batch("sendgrid", all_failed_transiently=False, now=NOW)
    state = ProviderState.objects.get(provider="sendgrid")
    assert (state.consecutive_failures, state.open_until) == (0, None)


def test_batches_failing_in_a_row_open_the_breaker_at_the_threshold():
    for n in range(ProviderState.BREAKER_THRESHOLD):
        assert ProviderState.open_until_for("twilio", NOW) is None, n
        ProviderState.record_batch("twilio", all_failed_transiently=True, now=NOW)
    assert ProviderState.open_until_for("twilio", NOW) == NOW + ProviderState.BREAKER_COOLDOWN


def test_a_healthy_providers_batch_only_reads_the_shared_row():
    """Every batch of every worker records itself here: writing the one shared row each
    time would queue them all behind its lock."""
    ProviderState.objects.create(provider="sendgrid")
    with CaptureQueriesContext(connection) as queries:
        ProviderState.record_batch("sendgrid", all_failed_transiently=False, now=NOW)
    statements = [q["sql"].split()[0].upper() for q in queries]
    assert statements and all(s == "SELECT" for s in statements), statements
