"""Read-only SQL views for the process API: record pages, histories, events and linked refs."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, select

from contractsync.adapters.persistence.outbox import event_of
from contractsync.adapters.persistence.tables import external_refs, outbox, record_versions, records
from contractsync.domain.identity import ExternalRef
from contractsync.ports.clock import Clock
from contractsync.ports.storage import OutboxEntry
from contractsync.ports.views import LinkedRef, RecordVersion, StoredRecord


class SqlProcessViews:
    """:class:`~contractsync.ports.views.ProcessViews` on the hub tables (no writes).

    Document filters read JSON fields through SQLAlchemy's JSON indexing, which renders
    ``JSON_EXTRACT`` on SQLite and ``->>`` on PostgreSQL.
    """

    def __init__(self, connection: Connection, clock: Clock) -> None:
        self._connection = connection
        self._clock = clock

    def records(
        self,
        kind: str,
        *,
        after: str | None = None,
        limit: int = 100,
        where: tuple[str, str] | None = None,
    ) -> Sequence[StoredRecord]:
        """Current records of ``kind`` by id, after ``after``, optionally filtered."""
        query = select(records).where(records.c.kind == kind)
        if after is not None:
            query = query.where(records.c.id > after)
        if where is not None:
            field, value = where
            query = query.where(records.c.document[field].as_string() == value)
        rows = self._connection.execute(query.order_by(records.c.id).limit(limit))
        return [
            StoredRecord(
                kind=row.kind,
                id=row.id,
                version=row.version,
                document=dict(row.document),
                updated_at=row.updated_at,
            )
            for row in rows
        ]

    def history(self, kind: str, record_id: str) -> Sequence[RecordVersion]:
        """Every version of the record, oldest first."""
        table = record_versions
        query = (
            select(table)
            .where(table.c.kind == kind, table.c.id == record_id)
            .order_by(table.c.version)
        )
        return [
            RecordVersion(
                version=row.version,
                document=dict(row.document),
                recorded_at=row.recorded_at,
                cause=row.cause,
            )
            for row in self._connection.execute(query)
        ]

    def events(
        self,
        *,
        before_seq: int | None = None,
        limit: int = 100,
        event_type: str | None = None,
        subject: str | None = None,
        correlation_id: str | None = None,
    ) -> Sequence[OutboxEntry]:
        """Outbox entries newest first, before ``before_seq``, filtered."""
        query = select(outbox)
        if before_seq is not None:
            query = query.where(outbox.c.seq < before_seq)
        if event_type is not None:
            query = query.where(outbox.c.event_type == event_type)
        if subject is not None:
            query = query.where(outbox.c.subject == subject)
        if correlation_id is not None:
            query = query.where(outbox.c.envelope["correlationid"].as_string() == correlation_id)
        rows = self._connection.execute(query.order_by(outbox.c.seq.desc()).limit(limit))
        return [
            OutboxEntry(
                seq=row.seq,
                event=event_of(row.envelope),
                attempts=row.attempts,
                published_at=row.published_at,
            )
            for row in rows
        ]

    def linked_ids(
        self, record_kind: str, *, after: str | None = None, limit: int = 100
    ) -> Sequence[str]:
        """Distinct ids of ``record_kind`` records that have an external ref, in order."""
        table = external_refs
        query = select(table.c.record_id).where(table.c.record_kind == record_kind)
        if after is not None:
            query = query.where(table.c.record_id > after)
        query = query.group_by(table.c.record_id).order_by(table.c.record_id).limit(limit)
        return [row.record_id for row in self._connection.execute(query)]

    def refs_of(self, record_kind: str, record_id: str) -> Sequence[LinkedRef]:
        """Every external ref of the record, by system then kind."""
        table = external_refs
        query = (
            select(table)
            .where(table.c.record_kind == record_kind, table.c.record_id == record_id)
            .order_by(table.c.system, table.c.kind)
        )
        return [
            LinkedRef(
                ref=ExternalRef(system=row.system, kind=row.kind, id=row.external_id),
                record_kind=row.record_kind,
                record_id=row.record_id,
                linked_at=row.created_at,
            )
            for row in self._connection.execute(query)
        ]


__all__ = ["SqlProcessViews"]
