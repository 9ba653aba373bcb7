"""The hub's tables: records and versions, refs, inbox, outbox, webhooks, exceptions, audit.

Revision ID: 0001
Revises:
Create Date: 2026-11-27 03:03:00.090702
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

# A migration is a frozen snapshot: plain types here, never the application's TypeDecorators.
_UTC = sa.DateTime(timezone=True)
_SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "audit_log",
        sa.Column("seq", _SEQ, autoincrement=True, nullable=False),
        sa.Column("at", _UTC, nullable=False),
        sa.Column("actor", sa.String(length=255), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_log")),
        sa.UniqueConstraint("hash", name=op.f("uq_audit_log_hash")),
    )
    op.create_table(
        "exception_items",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("code", sa.String(length=128), nullable=False),
        sa.Column("owner", sa.String(length=32), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("contract_id", sa.String(length=64), nullable=True),
        sa.Column("dedupe_key", sa.String(length=255), nullable=True),
        sa.Column("sla_due", _UTC, nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column(
            "row_version",
            sa.Integer(),
            nullable=False,
            comment="Optimistic lock for operator actions.",
        ),
        sa.Column("created_at", _UTC, nullable=False),
        sa.Column("updated_at", _UTC, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exception_items")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_exception_items_dedupe_key")),
    )
    with op.batch_alter_table("exception_items", schema=None) as batch_op:
        batch_op.create_index("ix_exception_items_status_owner", ["status", "owner"], unique=False)

    op.create_table(
        "external_refs",
        sa.Column("system", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("external_id", sa.String(length=255), nullable=False),
        sa.Column("record_kind", sa.String(length=32), nullable=False),
        sa.Column("record_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", _UTC, nullable=False),
        sa.PrimaryKeyConstraint("system", "kind", "external_id", name=op.f("pk_external_refs")),
        sa.UniqueConstraint(
            "record_kind",
            "record_id",
            "system",
            "kind",
            name=op.f("uq_external_refs_record_kind_record_id_system_kind"),
        ),
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("scope", sa.String(length=128), nullable=False, comment="API key id or client."),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("response", sa.JSON(), nullable=True),
        sa.Column("created_at", _UTC, nullable=False),
        sa.PrimaryKeyConstraint("key", "scope", name=op.f("pk_idempotency_keys")),
    )
    op.create_table(
        "inbox",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("event_id", sa.String(length=255), nullable=False),
        sa.Column("event_type", sa.String(length=128), nullable=False),
        sa.Column("received_at", _UTC, nullable=False),
        sa.Column(
            "headers", sa.JSON(), nullable=False, comment="Received headers, signatures removed."
        ),
        sa.Column("body", sa.LargeBinary(), nullable=False, comment="The raw bytes, as signed."),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("workflow_id", sa.String(length=255), nullable=True),
        sa.Column("unknown_fields", sa.JSON(), nullable=False),
        sa.Column("error", sa.JSON(), nullable=True),
        sa.Column("updated_at", _UTC, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbox")),
        sa.UniqueConstraint("source", "event_id", name=op.f("uq_inbox_source_event_id")),
    )
    with op.batch_alter_table("inbox", schema=None) as batch_op:
        batch_op.create_index(
            "ix_inbox_status_received_at", ["status", "received_at"], unique=False
        )

    op.create_table(
        "outbox",
        sa.Column("seq", _SEQ, autoincrement=True, nullable=False),
        sa.Column("event_id", sa.String(length=255), nullable=False),
        sa.Column("event_type", sa.String(length=128), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column(
            "envelope",
            sa.JSON(),
            nullable=False,
            comment="The CloudEvents 1.0 structured envelope.",
        ),
        sa.Column("created_at", _UTC, nullable=False),
        sa.Column("published_at", _UTC, nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_outbox")),
        sa.UniqueConstraint("event_id", name=op.f("uq_outbox_event_id")),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_published_at_seq", ["published_at", "seq"], unique=False)

    op.create_table(
        "poll_cursors",
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("cursor", sa.Text(), nullable=False),
        sa.Column("updated_at", _UTC, nullable=False),
        sa.PrimaryKeyConstraint("source", name=op.f("pk_poll_cursors")),
    )
    op.create_table(
        "record_versions",
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("recorded_at", _UTC, nullable=False),
        sa.Column(
            "cause",
            sa.String(length=255),
            nullable=False,
            comment="Inbox message, workflow or operator.",
        ),
        sa.PrimaryKeyConstraint("kind", "id", "version", name=op.f("pk_record_versions")),
    )
    op.create_table(
        "records",
        sa.Column(
            "kind",
            sa.String(length=32),
            nullable=False,
            comment="Canonical entity: contract, customer ...",
        ),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("updated_at", _UTC, nullable=False),
        sa.PrimaryKeyConstraint("kind", "id", name=op.f("pk_records")),
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("subscription_id", sa.String(length=64), nullable=False),
        sa.Column("event_id", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", _UTC, nullable=True),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("updated_at", _UTC, nullable=False),
        sa.PrimaryKeyConstraint("subscription_id", "event_id", name=op.f("pk_webhook_deliveries")),
    )
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_webhook_deliveries_status_next_attempt_at",
            ["status", "next_attempt_at"],
            unique=False,
        )

    op.create_table(
        "webhook_subscriptions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("url", sa.String(length=2048), nullable=False),
        sa.Column(
            "secret_ref",
            sa.String(length=255),
            nullable=False,
            comment="Env var or file holding the secret.",
        ),
        sa.Column("event_types", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", _UTC, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_subscriptions")),
    )
    op.create_table(
        "worker_heartbeats",
        sa.Column("executor_id", sa.String(length=128), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("started_at", _UTC, nullable=False),
        sa.Column("last_seen", _UTC, nullable=False),
        sa.PrimaryKeyConstraint("executor_id", name=op.f("pk_worker_heartbeats")),
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table("worker_heartbeats")
    op.drop_table("webhook_subscriptions")
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_webhook_deliveries_status_next_attempt_at")

    op.drop_table("webhook_deliveries")
    op.drop_table("records")
    op.drop_table("record_versions")
    op.drop_table("poll_cursors")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_published_at_seq")

    op.drop_table("outbox")
    with op.batch_alter_table("inbox", schema=None) as batch_op:
        batch_op.drop_index("ix_inbox_status_received_at")

    op.drop_table("inbox")
    op.drop_table("idempotency_keys")
    op.drop_table("external_refs")
    with op.batch_alter_table("exception_items", schema=None) as batch_op:
        batch_op.drop_index("ix_exception_items_status_owner")

    op.drop_table("exception_items")
    op.drop_table("audit_log")
