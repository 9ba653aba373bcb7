"""Exponential backoff with full jitter that never waits less than the remote system asked."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from contractsync.errors import ConfigError, TransientError

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how long to retry a ``TransientError``.

    Retry ``n`` (1 for the first retry) waits ``uniform(0, min(cap, base * 2**(n-1)))`` seconds
    ("full jitter", so that many clients hit by one outage do not retry in lockstep), raised to
    ``retry_after`` when the remote system asked for longer: the server's word beats the cap.

    Attributes:
        max_attempts: Calls in total, the first included; 1 means never retry.
        base: The ceiling of the first retry's delay, in seconds.
        cap: The largest ceiling any jittered delay may reach, in seconds.
        random: Returns a float in ``[0, 1)``; inject a fixed sequence to make delays exact.

    Raises:
        ConfigError: ``max_attempts`` < 1, ``base`` <= 0 or ``cap`` < ``base``.
    """

    max_attempts: int = 5
    base: float = 0.5
    cap: float = 30.0
    random: Callable[[], float] = field(default=random.random, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.max_attempts < 1 or self.base <= 0 or self.cap < self.base:
            raise ConfigError(
                "A retry policy needs max_attempts >= 1, base > 0 and cap >= base.",
                code="config.retry_policy_invalid",
                detail={"max_attempts": self.max_attempts, "base": self.base, "cap": self.cap},
            )

    def delay(self, retry: int, *, retry_after: float | None = None) -> float:
        """Return the wait before retry number ``retry``.

        Args:
            retry: 1 for the first retry, 2 for the second ...
            retry_after: Seconds the remote system asked for; a floor on the result.

        Returns:
            The delay in seconds, never negative.
        """
        # Capping the exponent keeps 2**n a finite float however long a step has been retried.
        ceiling = min(self.cap, self.base * 2.0 ** min(max(retry - 1, 0), 64))
        jittered = self.random() * ceiling
        return max(jittered, retry_after) if retry_after is not None else jittered

    def delays(self, *, retry_after: float | None = None) -> list[float]:
        """Return the waits between all attempts (``max_attempts - 1`` of them).

        Args:
            retry_after: A floor applied to every delay.

        Returns:
            One delay per retry, in order.
        """
        return [self.delay(n, retry_after=retry_after) for n in range(1, self.max_attempts)]

    def run(self, call: Callable[[], T], *, sleep: Callable[[float], None] = time.sleep) -> T:
        """Call ``call`` until it succeeds, retrying ``TransientError`` only.

        Each wait honours the ``retry_after`` of the error that caused it. Any other error,
        ``AmbiguousCommitError`` included (it needs a lookup, not a blind retry), propagates at once.

        Args:
            call: The operation.
            sleep: Waits the given seconds; inject a recorder in tests.

        Returns:
            What ``call`` returned.

        Raises:
            TransientError: The last attempt still failed transiently.
        """
        for retry in range(1, self.max_attempts):
            try:
                return call()
            except TransientError as error:
                sleep(self.delay(retry, retry_after=error.retry_after))
        return call()

    async def run_async(
        self,
        call: Callable[[], Awaitable[T]],
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> T:
        """Await ``call`` until it succeeds; the asynchronous twin of ``run``.

        Args:
            call: The operation.
            sleep: Waits the given seconds.

        Returns:
            What ``call`` returned.

        Raises:
            TransientError: The last attempt still failed transiently.
        """
        for retry in range(1, self.max_attempts):
            try:
                return await call()
            except TransientError as error:
                await sleep(self.delay(retry, retry_after=error.retry_after))
        return await call()


__all__ = ["RetryPolicy"]
