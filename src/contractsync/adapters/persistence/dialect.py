"""Dialect-specific SQL the repositories share: an insert that skips a duplicate key."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite

from contractsync.errors import ConfigError


def insert_unless_exists(
    connection: Connection, table: Table, values: dict[str, Any], *, key: Sequence[str]
) -> bool:
    """Insert ``values`` unless a row with the same unique ``key`` exists; True if inserted.

    Relies on the unique constraint, not on a prior read, so two concurrent inserts of one
    key store one row: ``INSERT ... ON CONFLICT (key) DO NOTHING`` on both PostgreSQL (the
    second waits for the first to commit, then skips) and SQLite. A conflict on any other
    constraint still raises.
    """
    dialect = connection.dialect.name
    if dialect == "postgresql":
        statement: Any = postgresql.insert(table).on_conflict_do_nothing(index_elements=key)
    elif dialect == "sqlite":
        statement = sqlite.insert(table).on_conflict_do_nothing(index_elements=key)
    else:  # pragma: no cover - create_engine_for accepts only these two
        raise ConfigError(
            f"database dialect {dialect!r} is not supported",
            remediation="Use a sqlite:/// or postgresql:// database URL.",
        )
    # SQLAlchemy only keeps an INSERT's rowcount when asked to.
    result = connection.execute(statement.execution_options(preserve_rowcount=True), values)
    return bool(result.rowcount == 1)
