"""The inbox repository: inbound messages stored once per (source, event_id)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, delete, select, update

from contractsync.adapters.persistence.dialect import insert_unless_exists
from contractsync.adapters.persistence.tables import inbox
from contractsync.ports.clock import Clock
from contractsync.ports.storage import InboxMessage, InboxStatus

# Only finished messages may be forgotten: a waiting one still has work to do.
_PURGEABLE = (InboxStatus.PROCESSED,)


class SqlInbox:
    """:class:`~contractsync.ports.storage.Inbox` on the ``inbox`` table."""

    def __init__(self, connection: Connection, clock: Clock) -> None:
        self._connection = connection
        self._clock = clock

    def add(self, message: InboxMessage) -> bool:
        """Store ``message``; False (nothing stored) if (source, event_id) already exists."""
        values = message.model_dump(mode="python")
        values["unknown_fields"] = list(message.unknown_fields)
        values["status"] = message.status.value
        values["updated_at"] = self._clock.now()
        return insert_unless_exists(self._connection, inbox, values, key=("source", "event_id"))

    def get(self, message_id: str) -> InboxMessage | None:
        """The message with ``message_id``, or None."""
        row = self._connection.execute(select(inbox).where(inbox.c.id == message_id)).first()
        return None if row is None else _message(row)

    def find(self, source: str, event_id: str) -> InboxMessage | None:
        """The message ``source`` sent under ``event_id``, or None."""
        query = select(inbox).where(inbox.c.source == source, inbox.c.event_id == event_id)
        row = self._connection.execute(query).first()
        return None if row is None else _message(row)

    def mark(
        self,
        message_id: str,
        status: InboxStatus,
        *,
        only_from: Collection[InboxStatus],
        workflow_id: str | None = None,
        error: dict[str, Any] | None = None,
    ) -> bool:
        """Move a message to ``status`` if it is in one of ``only_from``; True if it moved.

        One ``UPDATE ... WHERE status IN (...)``: the database decides, so a racing writer
        that moved the message first makes this one a no-op instead of being overwritten.
        """
        if not only_from:
            return False
        values: dict[str, Any] = {"status": status.value, "updated_at": self._clock.now()}
        if workflow_id is not None:
            values["workflow_id"] = workflow_id
        if error is not None:
            values["error"] = error
        statement = (
            update(inbox)
            .where(inbox.c.id == message_id, inbox.c.status.in_([s.value for s in only_from]))
            .values(values)
        )
        return bool(self._connection.execute(statement).rowcount == 1)

    def waiting(self, *, received_before: datetime, limit: int) -> Sequence[InboxMessage]:
        """Messages still RECEIVED that arrived before ``received_before``, oldest first."""
        query = (
            select(inbox)
            .where(
                inbox.c.status == InboxStatus.RECEIVED.value,
                inbox.c.received_at < received_before,
            )
            .order_by(inbox.c.received_at, inbox.c.id)
            .limit(limit)
        )
        return [_message(row) for row in self._connection.execute(query)]

    def matching(
        self,
        *,
        source: str | None = None,
        statuses: Collection[InboxStatus] = (),
        received_from: datetime | None = None,
        received_until: datetime | None = None,
        limit: int = 1000,
    ) -> Sequence[InboxMessage]:
        """Messages matching every given filter, oldest first; see the Inbox port."""
        query = select(inbox)
        if source is not None:
            query = query.where(inbox.c.source == source)
        if statuses:
            query = query.where(inbox.c.status.in_([s.value for s in statuses]))
        if received_from is not None:
            query = query.where(inbox.c.received_at >= received_from)
        if received_until is not None:
            query = query.where(inbox.c.received_at < received_until)
        query = query.order_by(inbox.c.received_at, inbox.c.id).limit(limit)
        return [_message(row) for row in self._connection.execute(query)]

    def purge(self, *, received_before: datetime) -> int:
        """Delete processed messages received before ``received_before``; return how many."""
        statement = delete(inbox).where(
            inbox.c.status.in_([s.value for s in _PURGEABLE]),
            inbox.c.received_at < received_before,
        )
        return int(self._connection.execute(statement).rowcount)


def _message(row: Row[Any]) -> InboxMessage:
    return InboxMessage(
        id=row.id,
        source=row.source,
        event_id=row.event_id,
        event_type=row.event_type,
        received_at=row.received_at,
        headers=row.headers,
        body=bytes(row.body),
        status=InboxStatus(row.status),
        workflow_id=row.workflow_id,
        unknown_fields=tuple(row.unknown_fields),
        error=row.error,
    )
