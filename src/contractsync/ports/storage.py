"""Storage ports: the unit of work and the repositories the services write through.

A unit of work is one database transaction: everything written through its repositories
commits together or not at all. Adapters: SQLAlchemy (``adapters/persistence``) and the
in-memory fake (``testing/fakes.py``); both pass the same tests.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Sequence
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol, Self

from pydantic import AwareDatetime, Field
from pydantic_core import to_jsonable_python

from contractsync.domain.base import ValueObject
from contractsync.domain.events import BusinessEvent
from contractsync.domain.exception_item import ExceptionItem, ExceptionStatus
from contractsync.domain.identity import ExternalRef
from contractsync.domain.roles import OwnerRole

if TYPE_CHECKING:
    from contractsync.ports.views import ProcessViews


class InboxStatus(StrEnum):
    """Where an inbound message stands."""

    RECEIVED = "received"
    """Stored and acknowledged; its workflow may not have started yet."""
    DISPATCHED = "dispatched"
    """Its workflow was started."""
    PROCESSED = "processed"
    FAILED = "failed"
    """Processing stopped on an error that needs a person (an ExceptionItem exists)."""


class InboxMessage(ValueObject):
    """One inbound message exactly as received (raw bytes, as signed)."""

    id: str
    source: str
    event_id: str
    event_type: str
    received_at: AwareDatetime
    headers: dict[str, str] = Field(default_factory=dict)
    body: bytes
    status: InboxStatus = InboxStatus.RECEIVED
    workflow_id: str | None = None
    unknown_fields: tuple[str, ...] = ()
    error: dict[str, Any] | None = None


class OutboxEntry(ValueObject):
    """A business event waiting to be (or already) relayed."""

    seq: int
    event: BusinessEvent
    attempts: int = 0
    published_at: AwareDatetime | None = None


GENESIS_HASH = "0" * 64
"""The ``prev_hash`` of the first audit entry."""


def canonical_json(value: Any) -> str:
    """The one JSON text of ``value`` that hashes agree on: sorted keys, no spaces, ASCII."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False
    )


class AuditEntry(ValueObject):
    """One link of the hash chain.

    ``hash = SHA-256(prev_hash + canonical_json({at, actor, action, subject, payload}))`` in
    lowercase hex, ``at`` as a UTC ISO 8601 time with microseconds. ``seq`` is the position
    and is deliberately not hashed: the links carry the order, the numbers reveal gaps.
    """

    seq: int
    at: AwareDatetime
    actor: str
    action: str
    subject: str
    payload: dict[str, Any]
    prev_hash: str
    hash: str

    @classmethod
    def chained(
        cls,
        *,
        seq: int,
        prev_hash: str,
        at: datetime,
        actor: str,
        action: str,
        subject: str,
        payload: dict[str, Any],
    ) -> AuditEntry:
        """Build the entry that follows ``prev_hash``, with its hash computed.

        ``payload`` is reduced to plain JSON first (Decimal and datetime become strings), so
        what is stored is exactly what was hashed.
        """
        plain: dict[str, Any] = json.loads(canonical_json(to_jsonable_python(payload)))
        at_utc = at.astimezone(UTC)
        digest = _link_hash(prev_hash, at_utc, actor, action, subject, plain)
        return cls(
            seq=seq,
            at=at_utc,
            actor=actor,
            action=action,
            subject=subject,
            payload=plain,
            prev_hash=prev_hash,
            hash=digest,
        )

    def expected_hash(self) -> str:
        """The hash this entry's content and ``prev_hash`` should have; differs if edited."""
        return _link_hash(
            self.prev_hash, self.at, self.actor, self.action, self.subject, self.payload
        )


def _link_hash(
    prev_hash: str, at: datetime, actor: str, action: str, subject: str, payload: Any
) -> str:
    content = {
        "at": at.astimezone(UTC).isoformat(timespec="microseconds"),
        "actor": actor,
        "action": action,
        "subject": subject,
        "payload": payload,
    }
    return hashlib.sha256((prev_hash + canonical_json(content)).encode("utf-8")).hexdigest()


class Inbox(Protocol):
    """Inbound messages, deduplicated on (source, event_id)."""

    def add(self, message: InboxMessage) -> bool:
        """Store ``message``; return False (and store nothing) if (source, event_id) exists."""
        ...

    def get(self, message_id: str) -> InboxMessage | None:
        """Return the message with ``message_id``."""
        ...

    def find(self, source: str, event_id: str) -> InboxMessage | None:
        """Return the message a source sent under ``event_id``."""
        ...

    def mark(
        self,
        message_id: str,
        status: InboxStatus,
        *,
        only_from: Collection[InboxStatus],
        workflow_id: str | None = None,
        error: dict[str, Any] | None = None,
    ) -> bool:
        """Move a message to ``status`` if it is in one of the ``only_from`` statuses.

        The check and the move are one conditional update, so two writers racing on a
        message (the ingress marking it DISPATCHED, its workflow marking it PROCESSED) can
        never move it backwards. A given ``workflow_id`` or ``error`` is recorded with the
        move; ``None`` leaves the stored value as it is. For a PROCESSED message ``error``
        may carry a note of how it was processed (``{"reason": "no handler"}``).

        Returns:
            True if the message moved; False if it does not exist or was in another status.
        """
        ...

    def waiting(self, *, received_before: datetime, limit: int) -> Sequence[InboxMessage]:
        """Messages still RECEIVED (workflow not started) that arrived before the given time."""
        ...

    def matching(
        self,
        *,
        source: str | None = None,
        statuses: Collection[InboxStatus] = (),
        received_from: datetime | None = None,
        received_until: datetime | None = None,
        limit: int = 1000,
    ) -> Sequence[InboxMessage]:
        """Messages matching every given filter, oldest first (received_at, then id).

        ``received_from`` is inclusive and ``received_until`` exclusive; an empty
        ``statuses`` means any status. Used to select messages for a bulk replay.
        """
        ...

    def purge(self, *, received_before: datetime) -> int:
        """Delete processed messages older than the dedupe horizon; return how many."""
        ...


class Outbox(Protocol):
    """Events written with the state they describe; relayed at least once, in order."""

    def add(self, event: BusinessEvent) -> None:
        """Queue ``event``; a second add of the same event id is ignored."""
        ...

    def pending(self, *, limit: int) -> Sequence[OutboxEntry]:
        """Unpublished entries, oldest first."""
        ...

    def mark_published(self, seqs: Sequence[int], *, at: datetime) -> None:
        """Record that these entries reached the bus."""
        ...

    def record_failure(self, seq: int, error: str) -> None:
        """Count a failed relay attempt."""
        ...


class ExceptionQueue(Protocol):
    """ExceptionItems, with optimistic locking on every operator action."""

    def add(self, item: ExceptionItem, *, dedupe_key: str | None = None) -> ExceptionItem:
        """Store a new item; if ``dedupe_key`` is already open, return that item instead.

        A key belongs to its item until the item is closed (resolved or dismissed); the same
        key raised after that makes a new item. Raises ConflictError if the id exists.
        """
        ...

    def get(self, item_id: str) -> ExceptionItem | None:
        """Return the item with ``item_id``."""
        ...

    def save(self, item: ExceptionItem, *, expected: ExceptionItem) -> None:
        """Replace ``expected`` with ``item``; raise ConflictError if it changed meanwhile."""
        ...

    def list(
        self,
        *,
        status: Sequence[ExceptionStatus] = (),
        owner: OwnerRole | None = None,
        contract_id: str | None = None,
        limit: int = 100,
        after: str | None = None,
    ) -> Sequence[ExceptionItem]:
        """Items matching every given filter, ordered by creation then id; ``after`` pages."""
        ...


class AuditLog(Protocol):
    """The append-only, hash-chained audit log."""

    def append(
        self, *, actor: str, action: str, subject: str, payload: dict[str, Any]
    ) -> AuditEntry:
        """Add an entry chained to the previous one."""
        ...

    def entries(self, *, after_seq: int = 0, limit: int = 1000) -> Sequence[AuditEntry]:
        """Entries in chain order."""
        ...


class Records(Protocol):
    """Canonical documents with their full version history."""

    def get(self, kind: str, record_id: str) -> dict[str, Any] | None:
        """The current document, as JSON-ready data."""
        ...

    def put(
        self, kind: str, record_id: str, document: dict[str, Any], *, version: int, cause: str
    ) -> None:
        """Store ``document`` as ``version``; raise ConflictError unless it is current + 1 (or 1)."""
        ...

    def versions(self, kind: str, record_id: str) -> Sequence[dict[str, Any]]:
        """Every stored version, oldest first."""
        ...


class ExternalRefs(Protocol):
    """Which external record stands for which canonical record."""

    def link(self, ref: ExternalRef, *, record_kind: str, record_id: str) -> None:
        """Remember that ``ref`` is this record; idempotent; ConflictError if linked elsewhere."""
        ...

    def resolve(self, ref: ExternalRef) -> tuple[str, str] | None:
        """The (record_kind, record_id) ``ref`` stands for."""
        ...

    def refs_of(self, record_kind: str, record_id: str) -> Sequence[ExternalRef]:
        """Every system's ref for a record."""
        ...


class PollCursors(Protocol):
    """Where each polling ingress stopped: one opaque cursor per source.

    A poller writes its cursor in the same unit of work as the events it read up to that
    cursor, so the stored cursor never runs ahead of the stored events.
    """

    def get(self, source: str) -> str | None:
        """The stored cursor of ``source``; None before its first poll."""
        ...

    def put(self, source: str, cursor: str) -> None:
        """Store ``cursor`` whatever was stored before (an operator resetting a feed)."""
        ...

    def advance(self, source: str, cursor: str, *, expected: str | None) -> bool:
        """Store ``cursor`` only if the stored cursor is still ``expected`` (None: no row yet).

        One conditional statement, not a read then a write: of two pollers that read the
        same cursor and race to advance it, exactly one succeeds (the other waits for its
        commit, then finds the cursor changed).

        Returns:
            True if the cursor was stored; False (nothing written) if it had changed.
        """
        ...


class IdempotencyRecord(ValueObject):
    """One Idempotency-Key of the process API: the request it first came with and its answer.

    ``status_code`` and ``response`` stay None while the first request is still running.
    """

    scope: str = Field(description="Whose key it is: the API key id.")
    key: str
    request_hash: str = Field(description="SHA-256 of the method, path and body it came with.")
    created_at: AwareDatetime
    status_code: int | None = None
    response: dict[str, Any] | None = None

    @property
    def is_in_flight(self) -> bool:
        """True while the first request with this key has not finished."""
        return self.status_code is None


class IdempotencyKeys(Protocol):
    """Idempotency-Key records, unique per (scope, key), kept at least as long as promised."""

    def claim(
        self,
        scope: str,
        key: str,
        *,
        request_hash: str,
        abandoned_before: datetime,
        expired_before: datetime,
    ) -> IdempotencyRecord | None:
        """Claim ``key`` for a request about to run.

        The claim is one insert guarded by the (scope, key) primary key, so of two
        concurrent claimers exactly one wins (commit the unit right after the claim). An
        unfinished claim made before ``abandoned_before`` (its process died) and any record
        made before ``expired_before`` are replaced as if absent.

        Returns:
            None when this request holds the key now; otherwise the record already there.
        """
        ...

    def complete(self, scope: str, key: str, *, status_code: int, response: dict[str, Any]) -> None:
        """Store the answer of the request holding the key (JSON-ready ``response``)."""
        ...

    def release(self, scope: str, key: str) -> None:
        """Forget an unfinished claim: the request failed, so a retry may run it again."""
        ...

    def purge(self, *, created_before: datetime) -> int:
        """Delete records made before ``created_before``; return how many."""
        ...


class UnitOfWork(Protocol):
    """One transaction over every repository. Use as a context manager; commit explicitly.

    Leaving the block without :meth:`commit` rolls everything back.
    """

    # Read-only members, so an adapter may expose its own repository subtypes.
    @property
    def inbox(self) -> Inbox:
        """Inbound messages."""
        ...

    @property
    def outbox(self) -> Outbox:
        """Events to relay."""
        ...

    @property
    def exceptions(self) -> ExceptionQueue:
        """The exception queue."""
        ...

    @property
    def audit(self) -> AuditLog:
        """The audit log."""
        ...

    @property
    def records(self) -> Records:
        """Canonical records."""
        ...

    @property
    def refs(self) -> ExternalRefs:
        """External refs."""
        ...

    @property
    def cursors(self) -> PollCursors:
        """Polling ingress cursors."""
        ...

    @property
    def idempotency(self) -> IdempotencyKeys:
        """Idempotency-Key records of the process API."""
        ...

    @property
    def views(self) -> ProcessViews:
        """Read-only listings for the process API (pages, histories, timelines)."""
        ...

    def __enter__(self) -> Self: ...

    def __exit__(self, *exc: object) -> None: ...

    def commit(self) -> None:
        """Make everything written in this unit durable."""
        ...

    def rollback(self) -> None:
        """Discard everything written since the last commit."""
        ...
