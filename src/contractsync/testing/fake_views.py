"""The process API's read-only views in memory, over an InMemoryStore."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from datetime import UTC, datetime

from contractsync.domain.identity import ExternalRef
from contractsync.ports.storage import OutboxEntry
from contractsync.ports.views import LinkedRef, RecordVersion, StoredRecord
from contractsync.testing.fake_storage import _Repository

# A record written before its metadata was kept (a snapshot made by hand) sorts first.
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class FakeProcessViews(_Repository):
    """:class:`~contractsync.ports.views.ProcessViews` in memory, ordered like the SQL one."""

    def records(
        self,
        kind: str,
        *,
        after: str | None = None,
        limit: int = 100,
        where: tuple[str, str] | None = None,
    ) -> Sequence[StoredRecord]:
        """Current records of ``kind`` by id, after ``after``, optionally filtered."""
        found: list[StoredRecord] = []
        for (each_kind, record_id), history in sorted(self._state.records.items()):
            if each_kind != kind or not history or (after is not None and record_id <= after):
                continue
            document = history[-1]
            if where is not None and _text(document.get(where[0])) != where[1]:
                continue
            meta = self._state.record_meta.get((kind, record_id), [])
            found.append(
                StoredRecord(
                    kind=kind,
                    id=record_id,
                    version=len(history),
                    document=copy.deepcopy(document),
                    updated_at=meta[-1][0] if meta else _EPOCH,
                )
            )
            if len(found) == limit:
                break
        return found

    def history(self, kind: str, record_id: str) -> Sequence[RecordVersion]:
        """Every version of the record, oldest first."""
        history = self._state.records.get((kind, record_id), [])
        meta = self._state.record_meta.get((kind, record_id), [])
        return [
            RecordVersion(
                version=index + 1,
                document=copy.deepcopy(document),
                recorded_at=meta[index][0] if index < len(meta) else _EPOCH,
                cause=meta[index][1] if index < len(meta) else "unknown",
            )
            for index, document in enumerate(history)
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
        found = [
            entry
            for entry in reversed(self._state.outbox)
            if (before_seq is None or entry.seq < before_seq)
            and (event_type is None or entry.event.type.value == event_type)
            and (subject is None or entry.event.subject == subject)
            and (correlation_id is None or entry.event.correlation_id == correlation_id)
        ]
        return found[:limit]

    def linked_ids(
        self, record_kind: str, *, after: str | None = None, limit: int = 100
    ) -> Sequence[str]:
        """Distinct ids of ``record_kind`` records that have an external ref, in order."""
        ids = {rid for kind, rid in self._state.refs.values() if kind == record_kind}
        return sorted(rid for rid in ids if after is None or rid > after)[:limit]

    def refs_of(self, record_kind: str, record_id: str) -> Sequence[LinkedRef]:
        """Every external ref of the record, by system then kind."""
        found = [
            LinkedRef(
                ref=ExternalRef(system=system, kind=kind, id=external_id),
                record_kind=record_kind,
                record_id=record_id,
                linked_at=self._state.linked_at.get((system, kind, external_id), _EPOCH),
            )
            for (system, kind, external_id), linked in self._state.refs.items()
            if linked == (record_kind, record_id)
        ]
        return sorted(found, key=lambda each: (each.ref.system, each.ref.kind))


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


__all__ = ["FakeProcessViews"]
