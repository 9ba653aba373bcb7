"""RetryPolicy: full-jitter backoff, bounded by the cap, never shorter than Retry-After."""

import asyncio
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contractsync.adapters.http import RetryPolicy
from contractsync.errors import AmbiguousCommitError, ConfigError, DataError, TransientError


def fixed(value: float):
    return lambda: value


def test_with_the_top_random_value_delays_double_from_base_up_to_the_cap():
    policy = RetryPolicy(max_attempts=7, base=1.0, cap=10.0, random=fixed(0.999999))
    assert [round(d, 3) for d in policy.delays()] == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]


def test_full_jitter_scales_the_ceiling_by_the_random_draw():
    policy = RetryPolicy(max_attempts=4, base=2.0, cap=60.0, random=fixed(0.25))
    assert policy.delays() == [0.5, 1.0, 2.0]


def test_there_is_one_delay_between_each_pair_of_attempts():
    assert len(RetryPolicy(max_attempts=5).delays()) == 4
    assert RetryPolicy(max_attempts=1).delays() == []


def test_the_same_seeded_random_gives_the_same_delays():
    first = RetryPolicy(random=random.Random(7).random).delays()
    second = RetryPolicy(random=random.Random(7).random).delays()
    assert first == second


@given(
    seed=st.integers(),
    base=st.floats(0.01, 10),
    cap=st.floats(10, 120),
    attempts=st.integers(1, 40),
)
def test_every_delay_stays_between_zero_and_the_cap(seed, base, cap, attempts):
    policy = RetryPolicy(
        max_attempts=attempts, base=base, cap=cap, random=random.Random(seed).random
    )
    assert all(0.0 <= delay <= cap for delay in policy.delays())


@given(seed=st.integers(), retry_after=st.floats(0, 3600))
def test_retry_after_is_a_floor_on_every_delay(seed, retry_after):
    policy = RetryPolicy(random=random.Random(seed).random)
    assert all(delay >= retry_after for delay in policy.delays(retry_after=retry_after))


def test_retry_after_longer_than_the_cap_is_still_honoured():
    assert RetryPolicy(cap=30.0, random=fixed(0.5)).delay(1, retry_after=120.0) == 120.0


def test_a_very_late_retry_does_not_overflow():
    assert RetryPolicy(cap=30.0, random=fixed(0.5)).delay(10_000) == 15.0


@pytest.mark.parametrize("kwargs", [{"max_attempts": 0}, {"base": 0.0}, {"base": 5.0, "cap": 1.0}])
def test_an_impossible_policy_is_refused(kwargs):
    with pytest.raises(ConfigError):
        RetryPolicy(**kwargs)


class Flaky:
    def __init__(self, failures: list[Exception], result: str = "ok") -> None:
        self.failures = list(failures)
        self.calls = 0
        self.result = result

    def __call__(self) -> str:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        return self.result


def test_run_retries_transient_errors_and_waits_at_least_what_each_asked():
    slept: list[float] = []
    call = Flaky([TransientError("429", retry_after=9.0), TransientError("503")])
    policy = RetryPolicy(max_attempts=3, base=1.0, cap=4.0, random=fixed(0.5))
    assert policy.run(call, sleep=slept.append) == "ok"
    assert call.calls == 3
    assert slept == [9.0, 1.0]


def test_run_gives_up_after_max_attempts_with_the_last_transient_error():
    slept: list[float] = []
    call = Flaky([TransientError(str(n)) for n in range(10)])
    with pytest.raises(TransientError, match=r"\] 3$"):
        RetryPolicy(max_attempts=4, random=fixed(0.0)).run(call, sleep=slept.append)
    assert call.calls == 4
    assert len(slept) == 3


@pytest.mark.parametrize("error", [AmbiguousCommitError("lost"), DataError("bad")])
def test_run_never_retries_an_ambiguous_commit_or_a_data_error(error):
    call = Flaky([error])
    with pytest.raises(type(error)):
        RetryPolicy().run(call, sleep=lambda _: None)
    assert call.calls == 1


def test_run_async_retries_like_run():
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    flaky = Flaky([TransientError("503", retry_after=2.0)])

    async def call() -> str:
        return flaky()

    policy = RetryPolicy(random=fixed(0.0))
    assert asyncio.run(policy.run_async(call, sleep=sleep)) == "ok"
    assert slept == [2.0]
