"""Read-only views over the hub's storage that the process API pages through."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from pydantic import AwareDatetime

from contractsync.domain.base import ValueObject
from contractsync.domain.identity import ExternalRef
from contractsync.ports.storage import OutboxEntry


class StoredRecord(ValueObject):
    """The current version of one canonical record."""

    kind: str
    id: str
    version: int
    document: dict[str, Any]
    updated_at: AwareDatetime


class RecordVersion(ValueObject):
    """One version a canonical record has had, with what caused it.

    ``cause`` names the inbox message (``inbox:<message id>``), workflow or operator that
    wrote the version.
    """

    version: int
    document: dict[str, Any]
    recorded_at: AwareDatetime
    cause: str


class LinkedRef(ValueObject):
    """An external ref with the canonical record it stands for and when it was linked."""

    ref: ExternalRef
    record_kind: str
    record_id: str
    linked_at: AwareDatetime


class ProcessViews(Protocol):
    """Listings the process API pages through; every one is ordered by a unique key.

    Each list takes the last key of the previous page (``after`` or ``before_seq``) and a
    ``limit``, so a client walking the pages sees every row once even while rows are added.
    """

    def records(
        self,
        kind: str,
        *,
        after: str | None = None,
        limit: int = 100,
        where: tuple[str, str] | None = None,
    ) -> Sequence[StoredRecord]:
        """Current records of ``kind`` ordered by id, those after ``after``.

        ``where`` is (top-level document field, text value): only records whose document
        holds that value are returned (``("contract_id", "C-1")``).
        """
        ...

    def history(self, kind: str, record_id: str) -> Sequence[RecordVersion]:
        """Every version of one record, oldest first (empty when unknown)."""
        ...

    def events(
        self,
        *,
        before_seq: int | None = None,
        limit: int = 100,
        event_type: str | None = None,
        subject: str | None = None,
        correlation_id: str | None = None,
    ) -> Sequence[OutboxEntry]:
        """Outbox entries newest first (by ``seq``), those before ``before_seq``, filtered."""
        ...

    def linked_ids(
        self, record_kind: str, *, after: str | None = None, limit: int = 100
    ) -> Sequence[str]:
        """Ids of the records of ``record_kind`` that have an external ref, ordered."""
        ...

    def refs_of(self, record_kind: str, record_id: str) -> Sequence[LinkedRef]:
        """Every external ref of one record with when it was linked, by system then kind."""
        ...


__all__ = ["LinkedRef", "ProcessViews", "RecordVersion", "StoredRecord"]
