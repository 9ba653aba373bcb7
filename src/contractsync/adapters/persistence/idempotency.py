"""The Idempotency-Key repository: one row per (scope, key), claimed by a guarded insert."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, or_, select, update

from contractsync.adapters.persistence.dialect import insert_unless_exists
from contractsync.adapters.persistence.tables import idempotency_keys
from contractsync.ports.clock import Clock
from contractsync.ports.storage import IdempotencyRecord

_table = idempotency_keys


class SqlIdempotencyKeys:
    """:class:`~contractsync.ports.storage.IdempotencyKeys` on ``idempotency_keys``.

    A claim is ``INSERT ... ON CONFLICT DO NOTHING`` on the primary key: on PostgreSQL a
    second claimer waits for the first one's commit and then finds its row; on SQLite the
    unit's ``BEGIN IMMEDIATE`` already serialises them.
    """

    def __init__(self, connection: Connection, clock: Clock) -> None:
        self._connection = connection
        self._clock = clock

    def claim(
        self,
        scope: str,
        key: str,
        *,
        request_hash: str,
        abandoned_before: datetime,
        expired_before: datetime,
    ) -> IdempotencyRecord | None:
        """Insert an unfinished record for (``scope``, ``key``); None if this call made it."""
        self._connection.execute(
            delete(_table).where(
                _table.c.scope == scope,
                _table.c.key == key,
                or_(
                    _table.c.created_at < expired_before,
                    _table.c.status_code.is_(None) & (_table.c.created_at < abandoned_before),
                ),
            )
        )
        values = {
            "scope": scope,
            "key": key,
            "request_hash": request_hash,
            "status_code": None,
            "response": None,
            "created_at": self._clock.now(),
        }
        if insert_unless_exists(self._connection, _table, values, key=("key", "scope")):
            return None
        row = self._connection.execute(
            select(_table).where(_table.c.scope == scope, _table.c.key == key)
        ).one()
        return IdempotencyRecord(
            scope=row.scope,
            key=row.key,
            request_hash=row.request_hash,
            created_at=row.created_at,
            status_code=row.status_code,
            response=row.response,
        )

    def complete(self, scope: str, key: str, *, status_code: int, response: dict[str, Any]) -> None:
        """Store the answer of the request that holds (``scope``, ``key``)."""
        self._connection.execute(
            update(_table)
            .where(_table.c.scope == scope, _table.c.key == key)
            .values(status_code=status_code, response=response)
        )

    def release(self, scope: str, key: str) -> None:
        """Delete the record of (``scope``, ``key``) if it is still unfinished."""
        self._connection.execute(
            delete(_table).where(
                _table.c.scope == scope, _table.c.key == key, _table.c.status_code.is_(None)
            )
        )

    def purge(self, *, created_before: datetime) -> int:
        """Delete records made before ``created_before``; return how many."""
        result = self._connection.execute(
            delete(_table)
            .where(_table.c.created_at < created_before)
            .execution_options(preserve_rowcount=True)
        )
        return int(result.rowcount)


__all__ = ["SqlIdempotencyKeys"]
