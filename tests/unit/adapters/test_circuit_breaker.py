"""CircuitBreaker: closed, open after N transient failures, one probe when half-open, closed again."""

import pytest

from contractsync.adapters.http import BreakerState, CircuitBreaker
from contractsync.errors import (
    AmbiguousCommitError,
    ConfigError,
    ConflictError,
    DataError,
    TransientError,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def breaker(clock: Clock, threshold: int = 3) -> CircuitBreaker:
    return CircuitBreaker("salesforce", failure_threshold=threshold, cool_down=30.0, clock=clock)


def trip(b: CircuitBreaker, times: int) -> None:
    for _ in range(times):
        b.record_failure(TransientError("503"))


def test_a_new_breaker_is_closed_and_admits_calls():
    b = breaker(Clock())
    assert b.state is BreakerState.CLOSED
    b.before_call()


def test_it_stays_closed_below_the_threshold():
    b = breaker(Clock())
    trip(b, 2)
    assert b.state is BreakerState.CLOSED


def test_it_opens_after_n_consecutive_transient_failures():
    b = breaker(Clock())
    trip(b, 3)
    assert b.state is BreakerState.OPEN


def test_a_success_in_between_resets_the_count():
    b = breaker(Clock())
    trip(b, 2)
    b.record_success()
    trip(b, 2)
    assert b.state is BreakerState.CLOSED


def test_an_answered_error_counts_as_health_not_failure():
    b = breaker(Clock())
    trip(b, 2)
    b.record_failure(DataError("400"))
    trip(b, 2)
    assert b.state is BreakerState.CLOSED


def test_lost_responses_count_as_transient_failures():
    b = breaker(Clock())
    for _ in range(3):
        b.record_failure(AmbiguousCommitError("read timeout after the write"))
    assert b.state is BreakerState.OPEN


def test_an_open_breaker_refuses_with_the_remaining_cool_down():
    clock = Clock()
    b = breaker(clock)
    trip(b, 3)
    clock.now += 12
    with pytest.raises(TransientError) as caught:
        b.before_call()
    assert caught.value.code == "remote.circuit_open"
    assert caught.value.retry_after == 18.0
    assert caught.value.detail == {"system": "salesforce", "consecutive_failures": 3}


def test_after_the_cool_down_it_is_half_open_and_admits_exactly_one_probe():
    clock = Clock()
    b = breaker(clock)
    trip(b, 3)
    clock.now += 30
    assert b.state is BreakerState.HALF_OPEN
    b.before_call()
    with pytest.raises(TransientError) as caught:
        b.before_call()
    assert caught.value.retry_after == 30.0


def test_a_successful_probe_closes_the_circuit():
    clock = Clock()
    b = breaker(clock)
    trip(b, 3)
    clock.now += 30
    b.before_call()
    b.record_success()
    assert b.state is BreakerState.CLOSED
    b.before_call()
    b.before_call()


def test_a_failed_probe_reopens_with_a_fresh_cool_down():
    clock = Clock()
    b = breaker(clock)
    trip(b, 3)
    clock.now += 30
    b.before_call()
    b.record_failure(TransientError("still down"))
    assert b.state is BreakerState.OPEN
    with pytest.raises(TransientError) as caught:
        b.before_call()
    assert caught.value.retry_after == 30.0


def test_a_probe_that_never_reports_is_replaced_after_one_cool_down():
    clock = Clock()
    b = breaker(clock)
    trip(b, 3)
    clock.now += 30
    b.before_call()
    clock.now += 30
    b.before_call()


def test_a_probe_that_crashed_with_a_bug_frees_the_probe_slot_without_closing():
    clock = Clock()
    b = breaker(clock)
    trip(b, 3)
    clock.now += 30
    b.before_call()
    b.record_failure(KeyError("bug"))
    assert b.state is BreakerState.HALF_OPEN
    b.before_call()


def test_guard_records_success_and_failure_around_the_call():
    clock = Clock()
    b = breaker(clock, threshold=2)
    for _ in range(2):
        with pytest.raises(TransientError), b.guard():
            raise TransientError("503")
    assert b.state is BreakerState.OPEN
    clock.now += 30
    with b.guard():
        pass
    assert b.state is BreakerState.CLOSED


def test_guard_does_not_run_the_call_while_open():
    b = breaker(Clock(), threshold=1)
    b.record_failure(TransientError("503"))
    ran = []
    with pytest.raises(TransientError), b.guard():
        ran.append(True)
    assert ran == []


def test_a_conflict_during_the_probe_proves_the_system_answers():
    clock = Clock()
    b = breaker(clock)
    trip(b, 3)
    clock.now += 30
    with pytest.raises(ConflictError), b.guard():
        raise ConflictError("412")
    assert b.state is BreakerState.CLOSED


@pytest.mark.parametrize("kwargs", [{"failure_threshold": 0}, {"cool_down": 0.0}])
def test_an_impossible_breaker_is_refused(kwargs):
    with pytest.raises(ConfigError):
        CircuitBreaker("x", **kwargs)
