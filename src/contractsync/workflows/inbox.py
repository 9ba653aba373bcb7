"""The durable inbox workflow: load a stored message, run its handler, record the outcome.

One run per message, id ``inbox:<source>:<event_id>`` (``engine.workflow_id``), so a message
dispatched twice (the request and the sweep, two racing copies) is processed by one run. Its
steps, in order:

1. ``inbox.load``: read the message from the hub database.
2. the handler's own steps (``handlers.route_for``); none when no handler is registered.
3. ``inbox.processed``: mark it PROCESSED (with the reason ``no handler`` when none ran), or
   ``inbox.failed``: mark it FAILED and raise its ExceptionItem, then fail the run with the
   handler's error, so the engine's ERROR status and the inbox's FAILED always agree and a
   replay forks the run from the handler step that failed (``workflows.replay``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from dbos import DBOS
from dbos import error as dbos_error
from prometheus_client import Counter
from sqlalchemy.exc import OperationalError

from contractsync.errors import ContractSyncError, TransientError
from contractsync.ports.clock import Clock
from contractsync.ports.storage import InboxMessage, UnitOfWork
from contractsync.services.inbox_processing import (
    NO_HANDLER,
    HandlerFailure,
    load_message,
    record_failure,
    record_processed,
)
from contractsync.workflows.client import EngineClient
from contractsync.workflows.engine import Engine
from contractsync.workflows.handlers import INBOX_QUEUE, route_for
from contractsync.workflows.steps import workflow

_log = logging.getLogger(__name__)
P = ParamSpec("P")
R = TypeVar("R")

PROCESS_INBOX_MESSAGE = "inbox"
"""Registered name of ``process_inbox_message``; with the key it makes ``inbox:<src>:<id>``."""

UNHANDLED = Counter(
    "contractsync_inbox_unhandled",
    "Inbound messages processed without a handler (none registered for their event type)",
    ["source"],
)
"""Messages marked processed with the reason ``no handler``, by source."""

_storage: tuple[Callable[[], UnitOfWork], Clock] | None = None
_lock = threading.Lock()


def bind_storage(uow_factory: Callable[[], UnitOfWork], clock: Clock) -> None:
    """Say where the inbox lives; called once by the composition root before launch."""
    global _storage
    with _lock:
        _storage = (uow_factory, clock)


def _bound() -> tuple[Callable[[], UnitOfWork], Clock]:
    with _lock:
        if _storage is None:
            raise ContractSyncError(
                "the inbox workflow has no hub database",
                code="config.inbox_unbound",
                remediation="Build the engine with contractsync.bootstrap.build_workflow_engine.",
            )
        return _storage


def _is_database_hiccup(error: BaseException) -> bool:
    # A lock timeout or a dropped connection; each storage step is one idempotent unit.
    return isinstance(error, OperationalError)


def _storage_step(name: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """A hub-database step, retried a few times on a database hiccup (and nothing else)."""
    return DBOS.step(
        name=name,
        retries_allowed=True,
        max_attempts=5,
        interval_seconds=0.5,
        backoff_rate=2.0,
        should_retry=_is_database_hiccup,
    )


def inbox_key(message: InboxMessage) -> str:
    """The business key of a message's run: ``<source>:<event_id>``."""
    return f"{message.source}:{message.event_id}"


@_storage_step("inbox.load")
def load(message_id: str) -> InboxMessage:
    """Read the message (a step: its output is recorded, the run never reads it twice)."""
    uow_factory, _ = _bound()
    return load_message(uow_factory(), message_id)


@_storage_step("inbox.processed")
def mark_processed(message: InboxMessage, run_id: str, reason: str | None) -> bool:
    """Mark the message PROCESSED by ``run_id``; count it when no handler ran."""
    uow_factory, clock = _bound()
    moved = record_processed(uow_factory(), clock, message, workflow_id=run_id, reason=reason)
    if moved and reason == NO_HANDLER:
        UNHANDLED.labels(message.source).inc()
        _log.warning(
            "inbox message %s (%s %s) has no handler: marked processed",
            message.id,
            message.source,
            message.event_type,
        )
    return moved


@_storage_step("inbox.failed")
def mark_failed(message: InboxMessage, run_id: str, failure: HandlerFailure) -> str:
    """Mark the message FAILED and raise (or re-open) its ExceptionItem; return the item id."""
    uow_factory, clock = _bound()
    item = record_failure(uow_factory(), clock, message, workflow_id=run_id, failure=failure)
    return item.id


@workflow(PROCESS_INBOX_MESSAGE)
def process_inbox_message(message_id: str) -> dict[str, Any]:
    """Process one inbox message exactly once in effect; see the module docstring.

    Returns:
        ``{"outcome": "processed", "summary": ...}`` or ``{"outcome": "no handler"}``.

    Raises:
        Exception: the handler's error, after the message was marked FAILED and its
            ExceptionItem raised (the run then ends in ERROR, ready to be replayed).
    """
    run_id = DBOS.workflow_id or ""
    message = load(message_id)
    route = route_for(message.source, message.event_type)
    if route is None:
        mark_processed(message, run_id, NO_HANDLER)
        return {"outcome": NO_HANDLER}
    try:
        summary = route.handler(message)
    # Every failure must end as a FAILED message with an ExceptionItem, never a silent
    # ERROR run: the error is recorded, then re-raised unchanged.
    except Exception as error:
        mark_failed(message, run_id, failure_of(error))
        raise
    mark_processed(message, run_id, None)
    return {"outcome": "processed", "summary": dict(summary or {})}


def failure_of(error: Exception) -> HandlerFailure:
    """Describe a handler's error as a HandlerFailure (engine errors made ContractSyncErrors)."""
    if isinstance(error, ContractSyncError):
        return HandlerFailure(error)
    if isinstance(error, dbos_error.DBOSMaxStepRetriesExceeded):
        last = error.errors[-1] if error.errors else None
        cause = (
            last
            if isinstance(last, ContractSyncError)
            else TransientError(
                f"step {error.step_name} kept failing: {last!r}", code="engine.retries_exhausted"
            )
        )
        return HandlerFailure(cause, step=error.step_name, retries_exhausted=True)
    return HandlerFailure(
        ContractSyncError(
            f"the handler failed unexpectedly: {type(error).__name__}: {error}",
            code="inbox.handler_crashed",
            remediation="This is a bug in the handler: report it with the item's evidence.",
        )
    )


class EngineDispatcher:
    """The WorkflowDispatcher of the durable engine: one queued inbox run per message.

    The run goes on its route's queue (``handlers.HandlerRoute.queue_name``; ``inbox`` for a
    message no handler takes), so the external system's limits hold for it. A second
    dispatch of a message returns the existing run's id and enqueues nothing. Safe to call
    from any thread.

    Args:
        enqueue: ``(queue, key, message_id) -> workflow id``; see ``in_process`` and
            ``through_client``.
        close: Releases what ``enqueue`` holds.
    """

    def __init__(
        self, enqueue: Callable[[str, str, str], str], close: Callable[[], None] | None = None
    ) -> None:
        self._enqueue = enqueue
        self._close = close

    @classmethod
    def in_process(cls, engine: Engine) -> EngineDispatcher:
        """Dispatch through this process's launched engine (``serve`` with workers)."""
        return cls(
            lambda queue, key, message_id: (
                engine.enqueue(queue, process_inbox_message, key, message_id).workflow_id
            )
        )

    @classmethod
    def through_client(cls, connect: Callable[[], EngineClient]) -> EngineDispatcher:
        """Dispatch through the engine's database for workers elsewhere (``--no-workers``).

        The client is built by ``connect`` at the first dispatch, so an API whose engine
        database is not there yet still starts (its messages wait for the sweep).
        """
        lock = threading.Lock()
        held: list[EngineClient] = []

        def client() -> EngineClient:
            with lock:
                if not held:
                    held.append(connect())
                return held[0]

        def close() -> None:
            with lock:
                while held:
                    held.pop().close()

        return cls(
            lambda queue, key, message_id: client().enqueue(
                queue, PROCESS_INBOX_MESSAGE, key, message_id
            ),
            close,
        )

    def dispatch(self, message: InboxMessage) -> str:
        """Enqueue (or find) the run of ``message``; return its workflow id.

        Raises:
            ConfigError: the route's queue is not configured (in process).
            Exception: whatever the engine's database raises; the message stays RECEIVED
                and the dispatch sweep retries it.
        """
        route = route_for(message.source, message.event_type)
        queue = route.queue_name if route is not None else INBOX_QUEUE
        return self._enqueue(queue, inbox_key(message), message.id)

    def close(self) -> None:
        """Release the engine client, if one was built; idempotent."""
        if self._close is not None:
            self._close()


__all__ = [
    "PROCESS_INBOX_MESSAGE",
    "UNHANDLED",
    "EngineDispatcher",
    "bind_storage",
    "failure_of",
    "inbox_key",
    "process_inbox_message",
]
