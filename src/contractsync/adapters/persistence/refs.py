"""The external refs repository: which external record stands for which canonical record."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, select
from sqlalchemy.exc import IntegrityError

from contractsync.adapters.persistence.dialect import insert_unless_exists
from contractsync.adapters.persistence.tables import external_refs
from contractsync.domain.identity import ExternalRef
from contractsync.errors import ConflictError
from contractsync.ports.clock import Clock

_table = external_refs


class SqlExternalRefs:
    """:class:`~contractsync.ports.storage.ExternalRefs` on ``external_refs``."""

    def __init__(self, connection: Connection, clock: Clock) -> None:
        self._connection = connection
        self._clock = clock

    def link(self, ref: ExternalRef, *, record_kind: str, record_id: str) -> None:
        """Remember that ``ref`` is (``record_kind``, ``record_id``); linking again is a no-op.

        Raises:
            ConflictError: if ``ref`` already stands for another record, or the record
                already has another id of the same system and kind.
        """
        values = {
            "system": ref.system,
            "kind": ref.kind,
            "external_id": ref.id,
            "record_kind": record_kind,
            "record_id": record_id,
            "created_at": self._clock.now(),
        }
        detail = {"ref": str(ref), "record_kind": record_kind, "record_id": record_id}
        linked = self.resolve(ref)
        if linked == (record_kind, record_id):
            return
        if linked is None:
            other = [
                known
                for known in self.refs_of(record_kind, record_id)
                if (known.system, known.kind) == (ref.system, ref.kind)
            ]
            if other:
                raise ConflictError(
                    f"{record_kind} {record_id} is already {other[0]} in {ref.system}",
                    code="ref.record_has_other_id",
                    remediation="Check which external record really is this one, then "
                    "correct the link.",
                    detail=detail,
                )
            key = ("system", "kind", "external_id")
            try:
                if insert_unless_exists(self._connection, _table, values, key=key):
                    return
            except IntegrityError as exc:
                # A concurrent linker gave the record another id of this system meanwhile.
                raise ConflictError(
                    f"{record_kind} {record_id} was linked in {ref.system} meanwhile",
                    code="ref.record_has_other_id",
                    detail=detail,
                ) from exc
            if self.resolve(ref) == (record_kind, record_id):
                return
        raise ConflictError(
            f"{ref} is already linked to another record",
            code="ref.linked_elsewhere",
            remediation="Check which canonical record this external record really is, then "
            "correct the link.",
            detail=detail,
        )

    def resolve(self, ref: ExternalRef) -> tuple[str, str] | None:
        """The (record_kind, record_id) ``ref`` stands for, or None."""
        row = self._connection.execute(
            select(_table.c.record_kind, _table.c.record_id).where(
                _table.c.system == ref.system,
                _table.c.kind == ref.kind,
                _table.c.external_id == ref.id,
            )
        ).first()
        return None if row is None else (row.record_kind, row.record_id)

    def refs_of(self, record_kind: str, record_id: str) -> Sequence[ExternalRef]:
        """Every system's ref for the record, by system then kind."""
        query = (
            select(_table.c.system, _table.c.kind, _table.c.external_id)
            .where(_table.c.record_kind == record_kind, _table.c.record_id == record_id)
            .order_by(_table.c.system, _table.c.kind)
        )
        return [
            ExternalRef(system=row.system, kind=row.kind, id=row.external_id)
            for row in self._connection.execute(query)
        ]
