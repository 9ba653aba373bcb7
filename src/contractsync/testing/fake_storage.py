"""In-memory fakes of the storage repositories, over one shared InMemoryStore."""

from __future__ import annotations

import copy
import threading
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from contractsync.domain.events import BusinessEvent
from contractsync.domain.exception_item import ExceptionItem, ExceptionStatus
from contractsync.domain.identity import ExternalRef
from contractsync.domain.roles import OwnerRole
from contractsync.errors import ConflictError
from contractsync.ports.clock import Clock
from contractsync.ports.storage import (
    GENESIS_HASH,
    AuditEntry,
    IdempotencyRecord,
    InboxMessage,
    InboxStatus,
    OutboxEntry,
)


@dataclass
class _Stored:
    item: ExceptionItem
    row_version: int
    dedupe_key: str | None


@dataclass
class InMemoryStore:
    """The committed state every :class:`InMemoryUnitOfWork` on it shares ("the database")."""

    inbox: dict[str, InboxMessage] = field(default_factory=dict)
    outbox: list[OutboxEntry] = field(default_factory=list)
    exceptions: dict[str, _Stored] = field(default_factory=dict)
    audit: list[AuditEntry] = field(default_factory=list)
    records: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)
    refs: dict[tuple[str, str, str], tuple[str, str]] = field(default_factory=dict)
    cursors: dict[str, str] = field(default_factory=dict)
    idempotency: dict[tuple[str, str], IdempotencyRecord] = field(default_factory=dict)
    record_meta: dict[tuple[str, str], list[tuple[datetime, str]]] = field(default_factory=dict)
    """Per record, each version's (recorded_at, cause), beside ``records``."""
    linked_at: dict[tuple[str, str, str], datetime] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def snapshot(self) -> InMemoryStore:
        """A copy that a unit of work can change without touching this one."""
        return InMemoryStore(
            inbox=dict(self.inbox),
            outbox=list(self.outbox),
            exceptions={k: copy.copy(v) for k, v in self.exceptions.items()},
            audit=list(self.audit),
            records={k: list(v) for k, v in self.records.items()},
            refs=dict(self.refs),
            cursors=dict(self.cursors),
            idempotency=dict(self.idempotency),
            record_meta={k: list(v) for k, v in self.record_meta.items()},
            linked_at=dict(self.linked_at),
        )


class _Transaction(Protocol):
    """What a fake repository needs from its unit of work."""

    @property
    def clock(self) -> Clock:
        """The unit's clock."""
        ...

    def working_state(self) -> InMemoryStore:
        """The transaction's private copy of the store."""
        ...


class _Repository:
    def __init__(self, uow: _Transaction) -> None:
        self._uow = uow

    @property
    def _state(self) -> InMemoryStore:
        return self._uow.working_state()


class FakeInbox(_Repository):
    """The inbox port in memory."""

    def add(self, message: InboxMessage) -> bool:
        """Store ``message``; False if (source, event_id) exists."""
        if self.find(message.source, message.event_id) is not None:
            return False
        self._state.inbox[message.id] = message
        return True

    def get(self, message_id: str) -> InboxMessage | None:
        """The message with ``message_id``."""
        return self._state.inbox.get(message_id)

    def find(self, source: str, event_id: str) -> InboxMessage | None:
        """The message ``source`` sent under ``event_id``."""
        found = (
            m for m in self._state.inbox.values() if (m.source, m.event_id) == (source, event_id)
        )
        return next(found, None)

    def mark(
        self,
        message_id: str,
        status: InboxStatus,
        *,
        only_from: Collection[InboxStatus],
        workflow_id: str | None = None,
        error: dict[str, Any] | None = None,
    ) -> bool:
        """Move a message to ``status`` if it is in one of ``only_from``; True if it moved."""
        message = self._state.inbox.get(message_id)
        if message is None or message.status not in only_from:
            return False
        update: dict[str, Any] = {"status": status}
        if workflow_id is not None:
            update["workflow_id"] = workflow_id
        if error is not None:
            update["error"] = error
        self._state.inbox[message_id] = message.model_copy(update=update)
        return True

    def waiting(self, *, received_before: datetime, limit: int) -> Sequence[InboxMessage]:
        """RECEIVED messages that arrived before ``received_before``, oldest first."""
        found = [
            m
            for m in self._state.inbox.values()
            if m.status is InboxStatus.RECEIVED and m.received_at < received_before
        ]
        return sorted(found, key=lambda m: (m.received_at, m.id))[:limit]

    def matching(
        self,
        *,
        source: str | None = None,
        statuses: Collection[InboxStatus] = (),
        received_from: datetime | None = None,
        received_until: datetime | None = None,
        limit: int = 1000,
    ) -> Sequence[InboxMessage]:
        """Messages matching every given filter, oldest first."""
        found = [
            m
            for m in self._state.inbox.values()
            if (source is None or m.source == source)
            and (not statuses or m.status in statuses)
            and (received_from is None or m.received_at >= received_from)
            and (received_until is None or m.received_at < received_until)
        ]
        return sorted(found, key=lambda m: (m.received_at, m.id))[:limit]

    def purge(self, *, received_before: datetime) -> int:
        """Delete processed messages received before ``received_before``."""
        old = [
            m.id
            for m in self._state.inbox.values()
            if m.status is InboxStatus.PROCESSED and m.received_at < received_before
        ]
        for message_id in old:
            del self._state.inbox[message_id]
        return len(old)


class FakeOutbox(_Repository):
    """The outbox port in memory."""

    def add(self, event: BusinessEvent) -> None:
        """Queue ``event`` unless its id is queued already."""
        if any(e.event.id == event.id for e in self._state.outbox):
            return
        seq = self._state.outbox[-1].seq + 1 if self._state.outbox else 1
        self._state.outbox.append(OutboxEntry(seq=seq, event=event))

    def pending(self, *, limit: int) -> Sequence[OutboxEntry]:
        """Unpublished entries, oldest first."""
        return [e for e in self._state.outbox if e.published_at is None][:limit]

    def mark_published(self, seqs: Sequence[int], *, at: datetime) -> None:
        """Record that these entries reached the bus."""
        self._replace(set(seqs), lambda e: e.model_copy(update={"published_at": at}))

    def record_failure(self, seq: int, error: str) -> None:
        """Count a failed relay attempt."""
        self._replace({seq}, lambda e: e.model_copy(update={"attempts": e.attempts + 1}))

    def _replace(self, seqs: set[int], change: Any) -> None:
        outbox = self._state.outbox
        outbox[:] = [change(e) if e.seq in seqs else e for e in outbox]


class FakeExceptionQueue(_Repository):
    """The exception queue port in memory (compare-and-swap saves, dedupe keys)."""

    def add(self, item: ExceptionItem, *, dedupe_key: str | None = None) -> ExceptionItem:
        """Store ``item``, or return the open item holding ``dedupe_key``."""
        stored = self._state.exceptions
        if dedupe_key is not None:
            for existing in stored.values():
                if existing.dedupe_key == dedupe_key:
                    return existing.item
        if item.id in stored:
            raise ConflictError(
                f"exception item {item.id} already exists", code="exception.duplicate_id"
            )
        stored[item.id] = _Stored(item, 1, None if item.is_closed else dedupe_key)
        return item

    def get(self, item_id: str) -> ExceptionItem | None:
        """The item with ``item_id``."""
        found = self._state.exceptions.get(item_id)
        return None if found is None else found.item

    def save(self, item: ExceptionItem, *, expected: ExceptionItem) -> None:
        """Replace ``expected`` with ``item``; ConflictError if it changed meanwhile."""
        current = self._state.exceptions.get(expected.id)
        if current is None or current.item != expected:
            raise ConflictError(
                f"exception item {expected.id} was changed by someone else meanwhile",
                code="exception.changed",
            )
        key = None if item.is_closed else current.dedupe_key
        self._state.exceptions[expected.id] = _Stored(item, current.row_version + 1, key)

    def list(
        self,
        *,
        status: Sequence[ExceptionStatus] = (),
        owner: OwnerRole | None = None,
        contract_id: str | None = None,
        limit: int = 100,
        after: str | None = None,
    ) -> Sequence[ExceptionItem]:
        """Items matching every filter, by creation time then id; ``after`` pages."""
        items = sorted(
            (s.item for s in self._state.exceptions.values()), key=lambda i: (i.created_at, i.id)
        )
        if after is not None and (cursor := self.get(after)) is not None:
            items = [i for i in items if (i.created_at, i.id) > (cursor.created_at, cursor.id)]
        matching = [
            i
            for i in items
            if (not status or i.status in status)
            and (owner is None or i.owner == owner)
            and (contract_id is None or i.contract_id == contract_id)
        ]
        return matching[:limit]


class FakeAuditLog(_Repository):
    """The audit log port in memory, chained exactly like the SQL one."""

    def append(
        self, *, actor: str, action: str, subject: str, payload: dict[str, Any]
    ) -> AuditEntry:
        """Add an entry chained to the current head."""
        log = self._state.audit
        entry = AuditEntry.chained(
            seq=log[-1].seq + 1 if log else 1,
            prev_hash=log[-1].hash if log else GENESIS_HASH,
            at=self._uow.clock.now(),
            actor=actor,
            action=action,
            subject=subject,
            payload=payload,
        )
        log.append(entry)
        return entry

    def entries(self, *, after_seq: int = 0, limit: int = 1000) -> Sequence[AuditEntry]:
        """Entries after ``after_seq``, in chain order."""
        return [e for e in self._state.audit if e.seq > after_seq][:limit]


class FakeRecords(_Repository):
    """The records port in memory."""

    def get(self, kind: str, record_id: str) -> dict[str, Any] | None:
        """The current document."""
        history = self._state.records.get((kind, record_id))
        return copy.deepcopy(history[-1]) if history else None

    def put(
        self, kind: str, record_id: str, document: dict[str, Any], *, version: int, cause: str
    ) -> None:
        """Store ``document`` as ``version``; ConflictError unless it is current + 1."""
        history = self._state.records.setdefault((kind, record_id), [])
        if version != len(history) + 1:
            raise ConflictError(
                f"{kind} {record_id}: version {version} cannot be stored, the next version is "
                f"{len(history) + 1}",
                code="record.version_conflict",
            )
        history.append(copy.deepcopy(document))
        meta = self._state.record_meta.setdefault((kind, record_id), [])
        meta.append((self._uow.clock.now(), cause))

    def versions(self, kind: str, record_id: str) -> Sequence[dict[str, Any]]:
        """Every version, oldest first."""
        return copy.deepcopy(self._state.records.get((kind, record_id), []))


class FakeExternalRefs(_Repository):
    """The external refs port in memory."""

    def link(self, ref: ExternalRef, *, record_kind: str, record_id: str) -> None:
        """Link ``ref`` to the record; idempotent; ConflictError if linked elsewhere."""
        key = (ref.system, ref.kind, ref.id)
        linked = self._state.refs.get(key)
        if linked == (record_kind, record_id):
            return
        if linked is not None:
            raise ConflictError(
                f"{ref} is already linked to another record", code="ref.linked_elsewhere"
            )
        if any(
            r.system == ref.system and r.kind == ref.kind
            for r in self.refs_of(record_kind, record_id)
        ):
            raise ConflictError(
                f"{record_kind} {record_id} already has another id in {ref.system}",
                code="ref.record_has_other_id",
            )
        self._state.refs[key] = (record_kind, record_id)
        self._state.linked_at[key] = self._uow.clock.now()

    def resolve(self, ref: ExternalRef) -> tuple[str, str] | None:
        """The (record_kind, record_id) ``ref`` stands for."""
        return self._state.refs.get((ref.system, ref.kind, ref.id))

    def refs_of(self, record_kind: str, record_id: str) -> Sequence[ExternalRef]:
        """Every system's ref for the record, by system then kind."""
        found = [
            ExternalRef(system=s, kind=k, id=i)
            for (s, k, i), record in self._state.refs.items()
            if record == (record_kind, record_id)
        ]
        return sorted(found, key=lambda r: (r.system, r.kind))


class FakePollCursors(_Repository):
    """The poll cursors port in memory."""

    def get(self, source: str) -> str | None:
        """The stored cursor of ``source``."""
        return self._state.cursors.get(source)

    def put(self, source: str, cursor: str) -> None:
        """Store ``cursor`` unconditionally."""
        self._state.cursors[source] = cursor

    def advance(self, source: str, cursor: str, *, expected: str | None) -> bool:
        """Store ``cursor`` if the stored one is still ``expected``; True if stored."""
        if self._state.cursors.get(source) != expected:
            return False
        self._state.cursors[source] = cursor
        return True


class FakeIdempotencyKeys(_Repository):
    """The Idempotency-Key port in memory (the store's lock serialises claimers)."""

    def claim(
        self,
        scope: str,
        key: str,
        *,
        request_hash: str,
        abandoned_before: datetime,
        expired_before: datetime,
    ) -> IdempotencyRecord | None:
        """Claim (``scope``, ``key``); None if this call holds it, else the record there."""
        found = self._state.idempotency.get((scope, key))
        if found is not None and (
            found.created_at < expired_before
            or (found.is_in_flight and found.created_at < abandoned_before)
        ):
            found = None
        if found is not None:
            return found
        self._state.idempotency[(scope, key)] = IdempotencyRecord(
            scope=scope, key=key, request_hash=request_hash, created_at=self._uow.clock.now()
        )
        return None

    def complete(self, scope: str, key: str, *, status_code: int, response: dict[str, Any]) -> None:
        """Store the answer of the request holding the key."""
        found = self._state.idempotency.get((scope, key))
        if found is not None:
            update = {"status_code": status_code, "response": copy.deepcopy(response)}
            self._state.idempotency[(scope, key)] = found.model_copy(update=update)

    def release(self, scope: str, key: str) -> None:
        """Forget the key if its request is unfinished."""
        found = self._state.idempotency.get((scope, key))
        if found is not None and found.is_in_flight:
            del self._state.idempotency[(scope, key)]

    def purge(self, *, created_before: datetime) -> int:
        """Delete records made before ``created_before``."""
        old = [k for k, r in self._state.idempotency.items() if r.created_at < created_before]
        for each in old:
            del self._state.idempotency[each]
        return len(old)
