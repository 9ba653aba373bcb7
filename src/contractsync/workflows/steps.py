"""How flows are written: workflows, steps with declared retries, idempotent external calls, waits.

Rules the engine imposes (reference/engine.md §1.3, §1.5):

* A workflow body is deterministic; everything that touches the outside world is a step.
* A completed step is never run again; its recorded output is replayed. A step that was *in
  flight* when its worker died runs again on recovery: steps are at-least-once, so every
  external write carries an idempotency key (``call_idempotently``).
* Retries are declared on the step (``external_step``), never written as loops: DBOS retries a
  step whose error is a TransientError, waiting ``interval * backoff**attempt``; everything
  else fails the step at once.
"""

from __future__ import annotations

import functools
import random
import time
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from dbos import DBOS

from contractsync.errors import AmbiguousCommitError, ConfigError, TransientError
from contractsync.workflows.runs import lineage_id

P = ParamSpec("P")
R = TypeVar("R")

_WORKFLOW_NAMES: dict[Callable[..., Any], str] = {}
_LONGEST_RETRY_AFTER_SECONDS = 300.0


def workflow(name: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Register a function as a durable workflow under a stable ``name``.

    The name, not the Python path, identifies the workflow in the database, so modules can be
    moved without stranding runs; it is also the prefix of every workflow id (``name:key``).
    """

    def register(function: Callable[P, R]) -> Callable[P, R]:
        durable = DBOS.workflow(name=name)(function)
        _WORKFLOW_NAMES[durable] = name
        return durable

    return register


def workflow_name(function: Callable[..., Any]) -> str:
    """Return the name ``function`` was registered under with ``workflow``.

    Raises:
        ConfigError: if ``function`` is not a contractsync workflow.
    """
    try:
        return _WORKFLOW_NAMES[function]
    except KeyError:
        raise ConfigError(
            f"{getattr(function, '__qualname__', function)!r} is not a registered workflow",
            remediation="Decorate it with contractsync.workflows.steps.workflow(name).",
        ) from None


def step(name: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Register a checkpointed step that is never retried (reads, pure computations)."""
    return DBOS.step(name=name)


def is_retryable(error: BaseException) -> bool:
    """Tell whether a step error is retried: only TransientError is.

    An AmbiguousCommitError is deliberately not retried blindly: ``call_idempotently`` resolves
    it by a lookup first, and one that escapes fails the step for a human to reconcile.
    """
    return isinstance(error, TransientError)


def external_step(
    name: str,
    *,
    max_attempts: int = 5,
    interval_seconds: float = 1.0,
    backoff_rate: float = 2.0,
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Register a step that calls an external system, retried on TransientError.

    Before DBOS waits ``interval_seconds * backoff_rate**attempt``, the step itself sleeps the
    remote's ``retry_after`` when it gave one (so Retry-After is honoured), else a random jitter
    of up to one interval (so retries of many runs do not arrive in lockstep). After
    ``max_attempts`` the step fails with the engine's DBOSMaxStepRetriesExceeded.
    """

    def register(function: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(function)
        def attempt(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return function(*args, **kwargs)
            except TransientError as error:
                status = DBOS.step_status
                is_last = status is not None and (status.current_attempt or 0) + 1 >= max_attempts
                if not is_last:
                    time.sleep(_pause(error, interval_seconds))
                raise

        return DBOS.step(
            name=name,
            retries_allowed=True,
            max_attempts=max_attempts,
            interval_seconds=interval_seconds,
            backoff_rate=backoff_rate,
            should_retry=is_retryable,
        )(attempt)

    return register


def _pause(error: TransientError, interval_seconds: float) -> float:
    if error.retry_after is not None:
        return min(max(error.retry_after, 0.0), _LONGEST_RETRY_AFTER_SECONDS)
    return random.uniform(0, interval_seconds)


def idempotency_key(purpose: str = "") -> str:
    """Return the idempotency key of the current step: ``<lineage id>:<step number>[:purpose]``.

    The key depends only on the run's lineage id (its workflow id, or for a replay
    ``<id>#replay-<n>`` the id of the original) and the step's position, both of which are
    the same when the step runs again (retry, crash recovery, ``rewind``, a replay), so a
    remote system that honours the key applies the effect once. A ``fork`` under a random id
    is a new lineage and gets new keys. ``purpose`` tells two calls made by one step apart.

    Raises:
        ConfigError: when called outside a step.
    """
    workflow_id, step_number = DBOS.workflow_id, DBOS.step_id
    if workflow_id is None or step_number is None:
        raise ConfigError(
            "idempotency_key() was called outside a workflow step",
            remediation="Call it from a function decorated with external_step.",
        )
    key = f"{lineage_id(workflow_id)}:{step_number}"
    return f"{key}:{purpose}" if purpose else key


def call_idempotently(
    apply: Callable[[str], R],
    lookup: Callable[[str], R | None],
    *,
    purpose: str = "",
    lookup_first: bool = False,
) -> R:
    """Make one external write exactly once in effect, from inside an ``external_step``.

    ``apply(key)`` performs the write under the step's idempotency key; ``lookup(key)`` returns
    what an earlier write under that key produced, or None. When ``apply`` raises
    AmbiguousCommitError (the request went out, the answer did not come back), the effect is
    looked up before anything else: found, it is the step's result; not found, a
    TransientError lets the step retry with the same key. On a retry attempt, and always when
    ``lookup_first`` is set (remote systems that ignore idempotency keys), the lookup comes
    first. Errors from ``apply`` and ``lookup`` other than AmbiguousCommitError propagate.
    """
    key = idempotency_key(purpose)
    status = DBOS.step_status
    is_retry = status is not None and (status.current_attempt or 0) > 0
    if lookup_first or is_retry:
        earlier = lookup(key)
        if earlier is not None:
            return earlier
    try:
        return apply(key)
    except AmbiguousCommitError as error:
        earlier = lookup(key)
        if earlier is not None:
            return earlier
        raise TransientError(
            f"the outcome of {key} was unknown and no effect was found; retrying",
            detail={"idempotency_key": key, "cause": error.code},
        ) from error


def wait_for_decision(topic: str, timeout_seconds: float) -> Any | None:
    """Wait inside a workflow for a human's decision sent to this run on ``topic``.

    The wait is durable: a worker may die and the recovered run keeps waiting until the
    original deadline. Returns the payload given to ``send_decision``, or None when
    ``timeout_seconds`` pass without one (reference/engine.md §1.3, §1.4). On SQLite the
    message is noticed at the engine's polling interval; on PostgreSQL through LISTEN/NOTIFY.
    """
    return DBOS.recv(topic, timeout_seconds=timeout_seconds)
