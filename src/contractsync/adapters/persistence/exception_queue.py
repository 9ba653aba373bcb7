"""The exception queue repository: ExceptionItems with optimistic locking and dedupe keys."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, and_, or_, select, update

from contractsync.adapters.persistence.dialect import insert_unless_exists
from contractsync.adapters.persistence.tables import exception_items
from contractsync.domain.exception_item import ExceptionItem, ExceptionStatus
from contractsync.domain.roles import OwnerRole
from contractsync.errors import ConflictError
from contractsync.ports.clock import Clock

_table = exception_items


class SqlExceptionQueue:
    """:class:`~contractsync.ports.storage.ExceptionQueue` on ``exception_items``.

    The dedupe key lives only in its column and is cleared when the item closes, so the same
    problem found again after a resolution raises a new item.
    """

    def __init__(self, connection: Connection, clock: Clock) -> None:
        self._connection = connection
        self._clock = clock

    def add(self, item: ExceptionItem, *, dedupe_key: str | None = None) -> ExceptionItem:
        """Store ``item``; if ``dedupe_key`` belongs to an open item, return that one instead.

        Raises:
            ConflictError: if an item with the same id already exists.
        """
        if dedupe_key is not None:
            existing = self._by_dedupe_key(dedupe_key)
            if existing is not None:
                return existing
        now = self._clock.now()
        values = {
            **_columns(item, dedupe_key=dedupe_key),
            "row_version": 1,
            "created_at": item.created_at,
            "updated_at": now,
        }
        # Two raisers of one dedupe key can both miss the read above; the unique key decides.
        if insert_unless_exists(self._connection, _table, values, key=_conflict_key(dedupe_key)):
            return item
        if dedupe_key is not None and (winner := self._by_dedupe_key(dedupe_key)) is not None:
            return winner
        raise ConflictError(
            f"exception item {item.id} already exists",
            code="exception.duplicate_id",
            detail={"id": item.id},
        )

    def get(self, item_id: str) -> ExceptionItem | None:
        """The item with ``item_id``, or None."""
        row = self._connection.execute(
            select(_table.c.document).where(_table.c.id == item_id)
        ).first()
        return None if row is None else ExceptionItem.model_validate(row.document)

    def save(self, item: ExceptionItem, *, expected: ExceptionItem) -> None:
        """Replace ``expected`` with ``item``.

        Compare-and-swap on ``row_version``: the stored item must still equal ``expected``
        when the update lands, whoever else is saving it at the same time.

        Raises:
            ConflictError: if the stored item is no longer ``expected`` (or is gone).
        """
        current = self._connection.execute(
            select(_table.c.row_version, _table.c.document, _table.c.dedupe_key).where(
                _table.c.id == expected.id
            )
        ).first()
        if current is None or ExceptionItem.model_validate(current.document) != expected:
            raise _changed(expected.id)
        values = {
            **_columns(item, dedupe_key=current.dedupe_key),
            "row_version": current.row_version + 1,
            "updated_at": self._clock.now(),
        }
        statement = (
            update(_table)
            .where(_table.c.id == expected.id, _table.c.row_version == current.row_version)
            .values(values)
        )
        if self._connection.execute(statement).rowcount != 1:
            raise _changed(expected.id)

    def list(
        self,
        *,
        status: Sequence[ExceptionStatus] = (),
        owner: OwnerRole | None = None,
        contract_id: str | None = None,
        limit: int = 100,
        after: str | None = None,
    ) -> Sequence[ExceptionItem]:
        """Items matching every given filter, by creation time then id; ``after`` pages."""
        query = select(_table.c.document)
        if status:
            query = query.where(_table.c.status.in_([s.value for s in status]))
        if owner is not None:
            query = query.where(_table.c.owner == owner.value)
        if contract_id is not None:
            query = query.where(_table.c.contract_id == contract_id)
        if after is not None:
            cursor = self._connection.execute(
                select(_table.c.created_at).where(_table.c.id == after)
            ).first()
            if cursor is not None:
                query = query.where(
                    or_(
                        _table.c.created_at > cursor.created_at,
                        and_(_table.c.created_at == cursor.created_at, _table.c.id > after),
                    )
                )
        query = query.order_by(_table.c.created_at, _table.c.id).limit(limit)
        rows = self._connection.execute(query)
        return [ExceptionItem.model_validate(row.document) for row in rows]

    def _by_dedupe_key(self, dedupe_key: str) -> ExceptionItem | None:
        row = self._connection.execute(
            select(_table.c.document).where(_table.c.dedupe_key == dedupe_key)
        ).first()
        return None if row is None else ExceptionItem.model_validate(row.document)


def _columns(item: ExceptionItem, *, dedupe_key: str | None) -> dict[str, Any]:
    return {
        "id": item.id,
        "code": item.code,
        "owner": item.owner.value,
        "severity": item.severity.value,
        "status": item.status.value,
        "contract_id": item.contract_id,
        # A closed item frees its key: the same problem found again is a new item.
        "dedupe_key": None if item.is_closed else dedupe_key,
        "sla_due": item.sla_due,
        "document": item.model_dump(mode="json"),
    }


def _conflict_key(dedupe_key: str | None) -> builtins.list[str]:
    return ["dedupe_key"] if dedupe_key is not None else ["id"]


def _changed(item_id: str) -> ConflictError:
    return ConflictError(
        f"exception item {item_id} was changed by someone else meanwhile",
        code="exception.changed",
        remediation="Reload the item, check what changed, and repeat the action if still needed.",
        detail={"id": item_id},
    )
