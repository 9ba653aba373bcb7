"""In-memory fakes of the ports (unit of work, clock), with the SQL adapters' semantics."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Self

from contractsync.ports.storage import InboxMessage
from contractsync.testing.fake_storage import (
    FakeAuditLog,
    FakeExceptionQueue,
    FakeExternalRefs,
    FakeIdempotencyKeys,
    FakeInbox,
    FakeOutbox,
    FakePollCursors,
    FakeRecords,
    InMemoryStore,
)
from contractsync.testing.fake_views import FakeProcessViews


class FixedClock:
    """A clock that only moves when told to: ``now`` is ``at`` until :meth:`advance`."""

    def __init__(self, at: datetime | None = None) -> None:
        self.at = at or datetime(2026, 1, 5, 9, 0, tzinfo=UTC)

    def now(self) -> datetime:
        """The fixed instant."""
        return self.at

    def advance(self, delta: timedelta) -> None:
        """Move the clock forward by ``delta``."""
        self.at += delta


class InMemoryUnitOfWork:
    """The unit of work port in memory, behaving like the SQLite adapter.

    Units built on one :class:`InMemoryStore` share its committed state. Like SQLite's
    ``BEGIN IMMEDIATE``, the first repository call takes the store's single write lock and
    a private working copy; :meth:`commit` publishes the copy, :meth:`rollback` or leaving
    the block drops it, and either releases the lock.
    """

    def __init__(self, store: InMemoryStore | None = None, clock: FixedClock | None = None) -> None:
        self.store = store if store is not None else InMemoryStore()
        self.clock = clock or FixedClock()
        self.inbox = FakeInbox(self)
        self.outbox = FakeOutbox(self)
        self.exceptions = FakeExceptionQueue(self)
        self.audit = FakeAuditLog(self)
        self.records = FakeRecords(self)
        self.refs = FakeExternalRefs(self)
        self.cursors = FakePollCursors(self)
        self.idempotency = FakeIdempotencyKeys(self)
        self.views = FakeProcessViews(self)
        self._working: InMemoryStore | None = None
        self._is_open = False
        self.commits = 0

    def __enter__(self) -> Self:
        self._is_open = True
        return self

    def __exit__(self, *exc: object) -> None:
        self.rollback()
        self._is_open = False

    def working_state(self) -> InMemoryStore:
        """The transaction's copy of the store, taking the write lock on first use."""
        if not self._is_open:
            raise RuntimeError("use the unit of work as a context manager: `with uow: ...`")
        if self._working is None:
            if not self.store.lock.acquire(timeout=10):
                raise RuntimeError("another unit of work held the store for 10 s")
            self._working = self.store.snapshot()
        return self._working

    def commit(self) -> None:
        """Publish everything written since the last commit."""
        if self._working is not None:
            working, self._working = self._working, None
            for name in (
                "inbox",
                "outbox",
                "exceptions",
                "audit",
                "records",
                "refs",
                "cursors",
                "idempotency",
                "record_meta",
                "linked_at",
            ):
                setattr(self.store, name, getattr(working, name))
            self.store.lock.release()
        self.commits += 1

    def rollback(self) -> None:
        """Discard everything written since the last commit."""
        if self._working is not None:
            self._working = None
            self.store.lock.release()


class RecordingDispatcher:
    """The workflow dispatcher port in memory: records starts, idempotent per message.

    Like the engine, the workflow id is ``inbox:<source>:<event_id>`` and a second dispatch of
    one message starts nothing new. ``calls`` keeps every call (to prove a caller did not ask
    twice); ``started`` keeps each workflow once with the message that started it. Safe to
    call from many threads.
    """

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.started: dict[str, InboxMessage] = {}
        self._lock = threading.Lock()

    def dispatch(self, message: InboxMessage) -> str:
        """Start (or find) the workflow for ``message``; return its id."""
        workflow_id = f"inbox:{message.source}:{message.event_id}"
        with self._lock:
            self.calls.append(workflow_id)
            self.started.setdefault(workflow_id, message)
        return workflow_id

    def calls_per_workflow(self) -> dict[str, int]:
        """How many times each workflow id was asked for (1 each when no caller repeats)."""
        counts: dict[str, int] = {}
        with self._lock:
            for workflow_id in self.calls:
                counts[workflow_id] = counts.get(workflow_id, 0) + 1
        return counts
