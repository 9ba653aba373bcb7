"""The outbox repository: business events stored as CloudEvents 1.0 envelopes, relayed in order."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, select, update

from contractsync.adapters.persistence.dialect import insert_unless_exists
from contractsync.adapters.persistence.tables import outbox
from contractsync.domain.events import BusinessEvent
from contractsync.ports.clock import Clock
from contractsync.ports.storage import OutboxEntry

CLOUDEVENTS_SOURCE = "contractsync"
"""The CloudEvents ``source`` of every event the hub publishes."""


def envelope_of(event: BusinessEvent) -> dict[str, Any]:
    """The CloudEvents 1.0 structured envelope of ``event`` (JSON-ready).

    ``correlationid`` and ``schemaversion`` are CloudEvents extension attributes, so the
    envelope alone gives back the whole event (see :func:`event_of`).
    """
    return {
        "specversion": "1.0",
        "id": event.id,
        "source": CLOUDEVENTS_SOURCE,
        "type": event.type.value,
        "subject": event.subject,
        "time": event.occurred_at.isoformat(),
        "datacontenttype": "application/json",
        "correlationid": event.correlation_id,
        "schemaversion": event.schema_version,
        "data": event.model_dump(mode="json")["data"],
    }


def event_of(envelope: dict[str, Any]) -> BusinessEvent:
    """The business event an envelope written by :func:`envelope_of` carries."""
    return BusinessEvent.model_validate(
        {
            "id": envelope["id"],
            "type": envelope["type"],
            "subject": envelope["subject"],
            "correlation_id": envelope["correlationid"],
            "occurred_at": envelope["time"],
            "schema_version": envelope["schemaversion"],
            "data": envelope.get("data") or {},
        }
    )


class SqlOutbox:
    """:class:`~contractsync.ports.storage.Outbox` on the ``outbox`` table."""

    def __init__(self, connection: Connection, clock: Clock) -> None:
        self._connection = connection
        self._clock = clock

    def add(self, event: BusinessEvent) -> None:
        """Queue ``event``; a second add of the same event id is ignored."""
        values = {
            "event_id": event.id,
            "event_type": event.type.value,
            "subject": event.subject,
            "envelope": envelope_of(event),
            "created_at": self._clock.now(),
            "attempts": 0,
        }
        insert_unless_exists(self._connection, outbox, values, key=("event_id",))

    def pending(self, *, limit: int) -> Sequence[OutboxEntry]:
        """Unpublished entries, oldest first."""
        query = (
            select(outbox)
            .where(outbox.c.published_at.is_(None))
            .order_by(outbox.c.seq)
            .limit(limit)
        )
        return [_entry(row) for row in self._connection.execute(query)]

    def mark_published(self, seqs: Sequence[int], *, at: datetime) -> None:
        """Record that the entries ``seqs`` reached the bus at ``at``."""
        if seqs:
            statement = update(outbox).where(outbox.c.seq.in_(list(seqs))).values(published_at=at)
            self._connection.execute(statement)

    def record_failure(self, seq: int, error: str) -> None:
        """Count a failed relay attempt of entry ``seq`` and keep its error text."""
        statement = (
            update(outbox)
            .where(outbox.c.seq == seq)
            .values(attempts=outbox.c.attempts + 1, last_error=error)
        )
        self._connection.execute(statement)


def _entry(row: Row[Any]) -> OutboxEntry:
    return OutboxEntry(
        seq=row.seq,
        event=event_of(row.envelope),
        attempts=row.attempts,
        published_at=row.published_at,
    )
