"""The records repository: the current canonical documents and every version they had."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, insert, select, update

from contractsync.adapters.persistence.dialect import insert_unless_exists
from contractsync.adapters.persistence.tables import record_versions, records
from contractsync.errors import ConflictError
from contractsync.ports.clock import Clock


class SqlRecords:
    """:class:`~contractsync.ports.storage.Records` on ``records`` and ``record_versions``."""

    def __init__(self, connection: Connection, clock: Clock) -> None:
        self._connection = connection
        self._clock = clock

    def get(self, kind: str, record_id: str) -> dict[str, Any] | None:
        """The current document of (``kind``, ``record_id``), or None."""
        row = self._connection.execute(
            select(records.c.document).where(records.c.kind == kind, records.c.id == record_id)
        ).first()
        return None if row is None else dict(row.document)

    def put(
        self, kind: str, record_id: str, document: dict[str, Any], *, version: int, cause: str
    ) -> None:
        """Store ``document`` as ``version`` of the record, with ``cause`` in its history.

        Raises:
            ConflictError: unless ``version`` is the current version + 1 (or 1 for a new
                record); a concurrent writer of the same version also gets it.
        """
        now = self._clock.now()
        current = self._connection.execute(
            select(records.c.version).where(records.c.kind == kind, records.c.id == record_id)
        ).scalar()
        expected = 1 if current is None else current + 1
        if version != expected:
            raise _gap(kind, record_id, version, expected)
        history = {
            "kind": kind,
            "id": record_id,
            "version": version,
            "document": document,
            "recorded_at": now,
            "cause": cause,
        }
        # The history's primary key is where two concurrent writers of one version collide.
        if not insert_unless_exists(
            self._connection, record_versions, history, key=("kind", "id", "version")
        ):
            raise _gap(kind, record_id, version, expected)
        if current is None:
            self._connection.execute(
                insert(records).values(
                    kind=kind, id=record_id, version=version, document=document, updated_at=now
                )
            )
            return
        self._connection.execute(
            update(records)
            .where(records.c.kind == kind, records.c.id == record_id)
            .values(version=version, document=document, updated_at=now)
        )

    def versions(self, kind: str, record_id: str) -> Sequence[dict[str, Any]]:
        """Every stored version's document, oldest first."""
        query = (
            select(record_versions.c.document)
            .where(record_versions.c.kind == kind, record_versions.c.id == record_id)
            .order_by(record_versions.c.version)
        )
        return [dict(row.document) for row in self._connection.execute(query)]


def _gap(kind: str, record_id: str, version: int, expected: int) -> ConflictError:
    return ConflictError(
        f"{kind} {record_id}: version {version} cannot be stored, the next version is {expected}",
        code="record.version_conflict",
        detail={"kind": kind, "id": record_id, "version": version, "expected": expected},
    )
