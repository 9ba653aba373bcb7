"""A circuit breaker per external system: stop calling a system that keeps failing, probe it later.

closed ──N consecutive transient failures──> open ──cool-down elapsed──> half-open
  ^                                                                        │
  └──────────────── the one probe call succeeds ───────────────────────────┤
                    the probe fails transiently: open again, fresh cool-down ┘
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum

from contractsync.errors import (
    AmbiguousCommitError,
    ConfigError,
    ContractSyncError,
    TransientError,
)


class BreakerState(StrEnum):
    """Where a circuit breaker stands."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    """Refuses calls to one system while it is failing, so retries do not pile onto an outage.

    Only transient outcomes (``TransientError``, and ``AmbiguousCommitError``, which is a lost
    response) count as failures. Any other contractsync error, a 400 or a 409 included, proves
    the system answered and counts as health. Thread-safe; all timing comes from the injected clock.

    Args:
        system: The system's name, carried in the errors this breaker raises.
        failure_threshold: Consecutive transient failures that open the circuit.
        cool_down: Seconds the circuit stays open before one probe call is let through; also
            how long a probe may stay unreported before another one is allowed.
        clock: Returns monotonic seconds.

    Raises:
        ConfigError: ``failure_threshold`` < 1 or ``cool_down`` <= 0.
    """

    def __init__(
        self,
        system: str,
        *,
        failure_threshold: int = 5,
        cool_down: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if failure_threshold < 1 or cool_down <= 0:
            raise ConfigError(
                "A circuit breaker needs failure_threshold >= 1 and cool_down > 0.",
                code="config.circuit_breaker_invalid",
            )
        self.system = system
        self.failure_threshold = failure_threshold
        self.cool_down = cool_down
        self._clock = clock
        self._lock = threading.Lock()
        self._failures = 0
        self._opened_at: float | None = None
        self._probe_started_at: float | None = None

    @property
    def state(self) -> BreakerState:
        """The current state, as of the injected clock."""
        with self._lock:
            return self._state()

    def _state(self) -> BreakerState:
        if self._opened_at is None:
            return BreakerState.CLOSED
        if self._clock() - self._opened_at < self.cool_down:
            return BreakerState.OPEN
        return BreakerState.HALF_OPEN

    def _refuse(self, wait: float, why: str) -> TransientError:
        return TransientError(
            f"Calls to {self.system} are paused: {why}.",
            retry_after=max(0.0, wait),
            code="remote.circuit_open",
            remediation=f"Nothing to do: calls to {self.system} resume after the cool-down.",
            detail={"system": self.system, "consecutive_failures": self._failures},
        )

    def before_call(self) -> None:
        """Admit a call, or refuse it while the circuit is open.

        In half-open state exactly one probe is admitted; the others are refused until the probe
        reports (or its lease of one cool-down runs out).

        Raises:
            TransientError: ``remote.circuit_open``, with ``retry_after`` = the time left.
        """
        with self._lock:
            state, now = self._state(), self._clock()
            if state is BreakerState.CLOSED:
                return
            if state is BreakerState.OPEN:
                wait = (self._opened_at or now) + self.cool_down - now
                raise self._refuse(wait, f"{self._failures} consecutive failures")
            probe = self._probe_started_at
            if probe is not None and now - probe < self.cool_down:
                raise self._refuse(probe + self.cool_down - now, "a probe call is in flight")
            self._probe_started_at = now

    def record_success(self) -> None:
        """Report a call that got an answer; closes the circuit and clears the failure count."""
        with self._lock:
            self._failures = 0
            self._opened_at = None
            self._probe_started_at = None

    def record_failure(self, error: BaseException) -> None:
        """Report a call that failed; only transient failures move the breaker toward open.

        A classified non-transient error (the system answered) counts as health. Anything else
        (a bug, a cancellation) says nothing about the system: it only frees the probe slot.

        Args:
            error: What the call raised.
        """
        if not isinstance(error, TransientError | AmbiguousCommitError):
            if isinstance(error, ContractSyncError):
                self.record_success()
            else:
                with self._lock:
                    self._probe_started_at = None
            return
        with self._lock:
            self._failures += 1
            probing = self._probe_started_at is not None
            if probing or self._failures >= self.failure_threshold:
                self._opened_at = self._clock()
            self._probe_started_at = None

    @contextmanager
    def guard(self) -> Iterator[None]:
        """Wrap one call: admit it, then record its outcome.

        Yields:
            Nothing; the body of the ``with`` block makes the call.

        Raises:
            TransientError: The circuit is open (the body does not run).
        """
        self.before_call()
        try:
            yield
        except BaseException as error:
            self.record_failure(error)
            raise
        self.record_success()


__all__ = ["BreakerState", "CircuitBreaker"]
