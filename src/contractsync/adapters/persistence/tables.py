"""The hub's tables (SQLAlchemy Core). Alembic migrations create them; this module only describes.

Every table works on SQLite (embedded) and PostgreSQL (scale-out). JSON columns hold canonical
documents exactly as ``model_dump(mode="json")`` writes them, so money stays a string.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

# Stable constraint names so Alembic migrations read the same on both databases.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "pk": "pk_%(table_name)s",
    }
)

_ID = String(64)


class UTCDateTime(TypeDecorator[datetime]):
    """An instant stored in UTC and always read back timezone-aware.

    SQLite has no time zone type: SQLAlchemy drops the offset on write and returns naive
    values, so every value is converted to UTC before it is stored and tagged UTC on read.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        """Convert an aware datetime to UTC; refuse a naive one (its zone is unknown)."""
        if value is None:
            return None
        if not isinstance(value, datetime) or value.tzinfo is None:
            raise ValueError(f"expected a timezone-aware datetime, got {value!r}")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        """Return the stored instant as an aware UTC datetime."""
        if value is None:
            return None
        stored: datetime = value
        if stored.tzinfo is None:
            return stored.replace(tzinfo=UTC)
        return stored.astimezone(UTC)


_UTC = UTCDateTime()
# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL wants BIGINT for a log that grows.
_SEQ = BigInteger().with_variant(Integer(), "sqlite")

records = Table(
    "records",
    metadata,
    Column(
        "kind", String(32), primary_key=True, comment="Canonical entity: contract, customer ..."
    ),
    Column("id", _ID, primary_key=True),
    Column("version", Integer, nullable=False),
    Column("document", JSON, nullable=False),
    Column("updated_at", _UTC, nullable=False),
)
"""The current version of every canonical record."""

record_versions = Table(
    "record_versions",
    metadata,
    Column("kind", String(32), primary_key=True),
    Column("id", _ID, primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("document", JSON, nullable=False),
    Column("recorded_at", _UTC, nullable=False),
    Column("cause", String(255), nullable=False, comment="Inbox message, workflow or operator."),
)
"""Every version a canonical record has had; never updated, never deleted."""

external_refs = Table(
    "external_refs",
    metadata,
    Column("system", String(64), primary_key=True),
    Column("kind", String(64), primary_key=True),
    Column("external_id", String(255), primary_key=True),
    Column("record_kind", String(32), nullable=False),
    Column("record_id", _ID, nullable=False),
    Column("created_at", _UTC, nullable=False),
    UniqueConstraint("record_kind", "record_id", "system", "kind"),
)
"""How each canonical record is known in each external system (one id per system and kind)."""

inbox = Table(
    "inbox",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("source", String(64), nullable=False),
    Column("event_id", String(255), nullable=False),
    Column("event_type", String(128), nullable=False),
    Column("received_at", _UTC, nullable=False),
    Column("headers", JSON, nullable=False, comment="Received headers, signatures removed."),
    Column("body", LargeBinary, nullable=False, comment="The raw bytes, as signed."),
    Column("status", String(16), nullable=False),
    Column("workflow_id", String(255), nullable=True),
    Column("unknown_fields", JSON, nullable=False),
    Column("error", JSON, nullable=True),
    Column("updated_at", _UTC, nullable=False),
    UniqueConstraint("source", "event_id"),
    Index("ix_inbox_status_received_at", "status", "received_at"),
)
"""Every accepted inbound message, stored before the sender gets its 2xx; (source, event_id) dedupes."""

outbox = Table(
    "outbox",
    metadata,
    Column("seq", _SEQ, primary_key=True, autoincrement=True),
    Column("event_id", String(255), nullable=False, unique=True),
    Column("event_type", String(128), nullable=False),
    Column("subject", String(255), nullable=False),
    Column("envelope", JSON, nullable=False, comment="The CloudEvents 1.0 structured envelope."),
    Column("created_at", _UTC, nullable=False),
    Column("published_at", _UTC, nullable=True),
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_error", Text, nullable=True),
    Index("ix_outbox_published_at_seq", "published_at", "seq"),
)
"""Domain events written in the same transaction as the state they describe, then relayed."""

webhook_subscriptions = Table(
    "webhook_subscriptions",
    metadata,
    Column("id", _ID, primary_key=True),
    Column("url", String(2048), nullable=False),
    Column(
        "secret_ref", String(255), nullable=False, comment="Env var or file holding the secret."
    ),
    Column("event_types", JSON, nullable=False),
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", _UTC, nullable=False),
)
"""Subscribers that receive our events as Standard Webhooks."""

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("subscription_id", _ID, primary_key=True),
    Column("event_id", String(255), primary_key=True),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", _UTC, nullable=True),
    Column("last_status_code", Integer, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("updated_at", _UTC, nullable=False),
    Index("ix_webhook_deliveries_status_next_attempt_at", "status", "next_attempt_at"),
)
"""One row per (subscriber, event): delivery state, retried with backoff."""

exception_items = Table(
    "exception_items",
    metadata,
    Column("id", _ID, primary_key=True),
    Column("code", String(128), nullable=False),
    Column("owner", String(32), nullable=False),
    Column("severity", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("contract_id", _ID, nullable=True),
    Column("dedupe_key", String(255), nullable=True, unique=True),
    Column("sla_due", _UTC, nullable=False),
    Column("document", JSON, nullable=False),
    Column("row_version", Integer, nullable=False, comment="Optimistic lock for operator actions."),
    Column("created_at", _UTC, nullable=False),
    Column("updated_at", _UTC, nullable=False),
    Index("ix_exception_items_status_owner", "status", "owner"),
)
"""The exception queue: the item's document plus the columns operators filter on."""

audit_log = Table(
    "audit_log",
    metadata,
    Column("seq", _SEQ, primary_key=True, autoincrement=True),
    Column("at", _UTC, nullable=False),
    Column("actor", String(255), nullable=False),
    Column("action", String(64), nullable=False),
    Column("subject", String(255), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False, unique=True),
)
"""Append-only, hash-chained: hash = SHA-256(prev_hash || canonical JSON of the entry)."""

poll_cursors = Table(
    "poll_cursors",
    metadata,
    Column("source", String(64), primary_key=True),
    Column("cursor", Text, nullable=False),
    Column("updated_at", _UTC, nullable=False),
)
"""Where each polling ingress stopped, so a restart resumes without loss or repeat."""

worker_heartbeats = Table(
    "worker_heartbeats",
    metadata,
    Column("executor_id", String(128), primary_key=True),
    Column("pid", Integer, nullable=False),
    Column("host", String(255), nullable=False),
    Column("started_at", _UTC, nullable=False),
    Column("last_seen", _UTC, nullable=False),
)
"""Live workers; a stale heartbeat lets a survivor recover the dead worker's workflows."""

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("key", String(255), primary_key=True),
    Column("scope", String(128), primary_key=True, comment="API key id or client."),
    Column("request_hash", String(64), nullable=False),
    Column("status_code", Integer, nullable=True),
    Column("response", JSON, nullable=True),
    Column("created_at", _UTC, nullable=False),
)
"""Idempotency-Key records of the process API: the same key with another body is refused."""
