"""The audit log repository: append-only, hash-chained entries whose chain never forks."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Row, insert, select, text

from contractsync.adapters.persistence.tables import audit_log
from contractsync.ports.clock import Clock
from contractsync.ports.storage import GENESIS_HASH, AuditEntry

# One constant advisory-lock key: every appender on PostgreSQL queues behind it.
_APPEND_LOCK = 0x636F_6E74_6175_6474


class SqlAuditLog:
    """:class:`~contractsync.ports.storage.AuditLog` on the ``audit_log`` table.

    Appends are serialised so that two transactions never chain to the same head:
    PostgreSQL takes ``pg_advisory_xact_lock`` (held until the unit of work ends, so it
    needs the default READ COMMITTED isolation to see the previous appender's row), and
    SQLite already runs one writer at a time (``BEGIN IMMEDIATE``). ``seq`` is assigned
    here, not by a database sequence, so a rolled-back append leaves no gap.
    """

    def __init__(self, connection: Connection, clock: Clock) -> None:
        self._connection = connection
        self._clock = clock

    def append(
        self, *, actor: str, action: str, subject: str, payload: dict[str, Any]
    ) -> AuditEntry:
        """Add an entry chained to the current head and return it."""
        if self._connection.dialect.name == "postgresql":
            self._connection.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": _APPEND_LOCK}
            )
        head = self._connection.execute(
            select(audit_log.c.seq, audit_log.c.hash).order_by(audit_log.c.seq.desc()).limit(1)
        ).first()
        entry = AuditEntry.chained(
            seq=1 if head is None else head.seq + 1,
            prev_hash=GENESIS_HASH if head is None else head.hash,
            at=self._clock.now(),
            actor=actor,
            action=action,
            subject=subject,
            payload=payload,
        )
        self._connection.execute(insert(audit_log).values(entry.model_dump(mode="python")))
        return entry

    def entries(self, *, after_seq: int = 0, limit: int = 1000) -> Sequence[AuditEntry]:
        """Up to ``limit`` entries with ``seq > after_seq``, in chain order."""
        query = (
            select(audit_log)
            .where(audit_log.c.seq > after_seq)
            .order_by(audit_log.c.seq)
            .limit(limit)
        )
        return [_entry(row) for row in self._connection.execute(query)]


def _entry(row: Row[Any]) -> AuditEntry:
    return AuditEntry(
        seq=row.seq,
        at=row.at,
        actor=row.actor,
        action=row.action,
        subject=row.subject,
        payload=row.payload,
        prev_hash=row.prev_hash,
        hash=row.hash,
    )
