"""The SQL unit of work: one database transaction over every repository."""

from __future__ import annotations

from typing import Self

from sqlalchemy import Connection, Engine

from contractsync.adapters.persistence.audit_log import SqlAuditLog
from contractsync.adapters.persistence.exception_queue import SqlExceptionQueue
from contractsync.adapters.persistence.idempotency import SqlIdempotencyKeys
from contractsync.adapters.persistence.inbox import SqlInbox
from contractsync.adapters.persistence.outbox import SqlOutbox
from contractsync.adapters.persistence.poll_cursors import SqlPollCursors
from contractsync.adapters.persistence.records import SqlRecords
from contractsync.adapters.persistence.refs import SqlExternalRefs
from contractsync.adapters.persistence.views import SqlProcessViews
from contractsync.ports.clock import Clock


class SqlUnitOfWork:
    """:class:`~contractsync.ports.storage.UnitOfWork` on a SQLAlchemy engine.

    ``with uow:`` checks a connection out of the pool; the transaction begins with the first
    statement (on SQLite that is ``BEGIN IMMEDIATE``: the unit holds the write lock until it
    commits or ends, so keep units short). :meth:`commit` makes the work durable and the
    unit stays usable for another transaction; leaving the block rolls back whatever was
    not committed and returns the connection. One instance serves one thread at a time:
    build one per request or task (they share the engine's pool).
    """

    inbox: SqlInbox
    outbox: SqlOutbox
    exceptions: SqlExceptionQueue
    audit: SqlAuditLog
    records: SqlRecords
    refs: SqlExternalRefs
    cursors: SqlPollCursors
    idempotency: SqlIdempotencyKeys
    views: SqlProcessViews

    def __init__(self, engine: Engine, clock: Clock) -> None:
        self.engine = engine
        self.clock = clock
        self._connection: Connection | None = None

    def __enter__(self) -> Self:
        if self._connection is not None:
            raise RuntimeError("this unit of work is already open; build one per thread")
        connection = self.engine.connect()
        self._connection = connection
        self.inbox = SqlInbox(connection, self.clock)
        self.outbox = SqlOutbox(connection, self.clock)
        self.exceptions = SqlExceptionQueue(connection, self.clock)
        self.audit = SqlAuditLog(connection, self.clock)
        self.records = SqlRecords(connection, self.clock)
        self.refs = SqlExternalRefs(connection, self.clock)
        self.cursors = SqlPollCursors(connection, self.clock)
        self.idempotency = SqlIdempotencyKeys(connection, self.clock)
        self.views = SqlProcessViews(connection, self.clock)
        return self

    def __exit__(self, *exc: object) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                connection.rollback()
            finally:
                connection.close()

    def commit(self) -> None:
        """Make everything written since the last commit durable.

        Raises:
            RuntimeError: outside a ``with`` block.
        """
        self._open().commit()

    def rollback(self) -> None:
        """Discard everything written since the last commit.

        Raises:
            RuntimeError: outside a ``with`` block.
        """
        self._open().rollback()

    @property
    def connection(self) -> Connection:
        """The open connection, for adapters that write their own tables in this transaction.

        Raises:
            RuntimeError: outside a ``with`` block.
        """
        return self._open()

    def _open(self) -> Connection:
        if self._connection is None:
            raise RuntimeError("use the unit of work as a context manager: `with uow: ...`")
        return self._connection
