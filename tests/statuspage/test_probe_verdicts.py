from datetime import timedelta

import pytest

from statuspage.models import CheckOutcome, Probe, ProbeState, Verdict
from statuspage.probes.engine import claim_due_checks
from tests.clock import NOW
from tests.factories import make_component, make_probe

OK = CheckOutcome(ok=True, latency_ms=12)
FAIL = CheckOutcome(ok=False, latency_ms=3, error="HTTP 503, expected 200")


def probe(**fields) -> Probe:
    defaults = {"failures_to_confirm": 2, "successes_to_confirm": 2, "state": ProbeState.UP}
    return Probe(url="http://127.0.0.1:1/health", **{**defaults, **fields})


def test_failures_below_the_threshold_do_not_confirm_an_outage():
    p = probe(failures_to_confirm=3)
    assert p.apply_outcome(FAIL, NOW) == Verdict.NONE
    assert p.apply_outcome(FAIL, NOW) == Verdict.NONE
    assert p.state == ProbeState.UP
    assert p.apply_outcome(FAIL, NOW) == Verdict.CONFIRMED_DOWN
    assert p.state == ProbeState.DOWN


def test_a_success_resets_the_failure_count():
    p = probe()
    p.apply_outcome(FAIL, NOW)
    p.apply_outcome(OK, NOW)
    assert p.apply_outcome(FAIL, NOW) == Verdict.NONE
    assert p.state == ProbeState.UP


def test_first_failure_time_is_kept_for_the_incident_start():
    p = probe()
    p.apply_outcome(FAIL, NOW)
    p.apply_outcome(FAIL, NOW + timedelta(seconds=10))
    assert p.first_failure_at == NOW


def test_recovery_needs_the_configured_successes():
    p = probe(successes_to_confirm=3)
    p.state, p.reported = ProbeState.DOWN, "major_outage"
    assert p.apply_outcome(OK, NOW) == Verdict.NONE
    assert p.apply_outcome(OK, NOW) == Verdict.NONE
    assert p.apply_outcome(OK, NOW) == Verdict.CONFIRMED_UP
    assert p.first_failure_at is None


def test_a_new_probe_becoming_healthy_is_not_a_recovery():
    p = probe()
    p.state = ProbeState.UNKNOWN
    p.apply_outcome(OK, NOW)
    assert p.apply_outcome(OK, NOW) == Verdict.NONE
    assert p.state == ProbeState.UP


def test_schedule_stays_anchored_but_never_falls_behind():
    p = probe(interval_seconds=10, next_run_at=NOW)
    assert p.next_run_after(NOW + timedelta(seconds=1)) == NOW + timedelta(seconds=10)
    assert p.next_run_after(NOW + timedelta(seconds=35)) == NOW + timedelta(seconds=45)


@pytest.mark.django_db
def test_a_due_probe_is_claimed_by_one_worker_only():
    make_probe(make_component(), "http://127.0.0.1:1/health")
    assert len(claim_due_checks(NOW)) == 1
    assert claim_due_checks(NOW) == []
    assert len(claim_due_checks(NOW + timedelta(seconds=10))) == 1


@pytest.mark.django_db
def test_interval_below_ten_seconds_is_refused():
    from django.core.exceptions import ValidationError

    p = probe(component=make_component(), interval_seconds=5, name="too fast")
    with pytest.raises(ValidationError) as error:
        p.full_clean()
    assert "interval_seconds" in error.value.message_dict


@pytest.mark.django_db
def test_a_probe_another_worker_claimed_first_is_not_claimed_again():
    from statuspage.probes import bulk

    first = make_probe(make_component(), "http://127.0.0.1:1/a", next_run_at=NOW)
    second = make_probe(make_component("Share upload"), "http://127.0.0.1:1/b", next_run_at=NOW)
    stale = list(Probe.objects.order_by("id"))
    Probe.objects.filter(id=first.id).update(
        next_run_at=NOW + timedelta(seconds=10)
    )  # the other worker
    won = bulk.claim(stale, [NOW + timedelta(seconds=11), NOW + timedelta(seconds=11)])
    assert won == {second.id}


@pytest.mark.django_db
def test_a_verdict_asks_the_engine_loop_for_housekeeping_at_once():
    """The escalation clock's T+0 step runs in housekeeping: a confirmed outage must not wait
    up to HOUSEKEEPING_EVERY_SECONDS for it."""
    from statuspage.probes import engine

    probe = make_probe(make_component(), "http://127.0.0.1:1/health", failures_to_confirm=1)
    engine.verdict_acted.clear()
    engine.record_outcome(probe.id, FAIL, NOW)
    assert engine.verdict_acted.is_set()
