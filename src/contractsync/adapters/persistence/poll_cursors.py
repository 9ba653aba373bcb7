"""The poll cursors repository: where each polling ingress stopped, advanced compare-and-set."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select, update
from sqlalchemy.dialects import postgresql, sqlite

from contractsync.adapters.persistence.dialect import insert_unless_exists
from contractsync.adapters.persistence.tables import poll_cursors
from contractsync.ports.clock import Clock


class SqlPollCursors:
    """:class:`~contractsync.ports.storage.PollCursors` on the ``poll_cursors`` table.

    ``advance`` is a single conditional statement, so it needs no explicit row lock: on
    PostgreSQL (READ COMMITTED) a second ``UPDATE ... WHERE cursor = :expected`` waits for
    the first writer's row lock and re-checks its condition after that commit, matching
    nothing; a second first-ever insert waits on the primary key and does nothing. On SQLite
    the unit's ``BEGIN IMMEDIATE`` already serialises writers.
    """

    def __init__(self, connection: Connection, clock: Clock) -> None:
        self._connection = connection
        self._clock = clock

    def get(self, source: str) -> str | None:
        """The stored cursor of ``source``, or None."""
        query = select(poll_cursors.c.cursor).where(poll_cursors.c.source == source)
        found: str | None = self._connection.execute(query).scalar_one_or_none()
        return found

    def put(self, source: str, cursor: str) -> None:
        """Store ``cursor`` for ``source`` unconditionally (insert or overwrite)."""
        values = {"source": source, "cursor": cursor, "updated_at": self._clock.now()}
        statement: Any
        if self._connection.dialect.name == "postgresql":
            statement = postgresql.insert(poll_cursors).values(values)
        else:
            statement = sqlite.insert(poll_cursors).values(values)
        statement = statement.on_conflict_do_update(
            index_elements=["source"],
            set_={"cursor": statement.excluded.cursor, "updated_at": statement.excluded.updated_at},
        )
        self._connection.execute(statement)

    def advance(self, source: str, cursor: str, *, expected: str | None) -> bool:
        """Store ``cursor`` if the stored cursor is still ``expected``; True if stored."""
        now = self._clock.now()
        if expected is None:
            values = {"source": source, "cursor": cursor, "updated_at": now}
            return insert_unless_exists(self._connection, poll_cursors, values, key=("source",))
        statement = (
            update(poll_cursors)
            .where(poll_cursors.c.source == source, poll_cursors.c.cursor == expected)
            .values(cursor=cursor, updated_at=now)
            .execution_options(preserve_rowcount=True)
        )
        return bool(self._connection.execute(statement).rowcount == 1)


__all__ = ["SqlPollCursors"]
