"""Alembic environment: migrates the connection ``migrate.py`` hands over, or the configured URL."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from contractsync.adapters.persistence.engine import create_engine_for
from contractsync.adapters.persistence.tables import metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        # SQLite cannot ALTER most things: batch mode copies the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run the migrations on the given connection, or on a new engine for the URL."""
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = create_engine_for(context.config.get_main_option("sqlalchemy.url") or "")
    try:
        with engine.begin() as new_connection:
            _run(new_connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("contractsync migrations run online only: use `contractsync db upgrade`")
run_migrations_online()
