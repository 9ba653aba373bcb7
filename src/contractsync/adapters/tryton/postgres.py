"""PostgreSQL databases for Tryton provisioning: create, clone from a template, drop."""

from __future__ import annotations

from typing import Any

from contractsync.errors import ConfigError


def _connect(server_url: str) -> Any:
    # Imported here so the SQLite path works without a PostgreSQL driver.
    import psycopg

    try:
        return psycopg.connect(server_url.rstrip("/") + "/postgres", autocommit=True)
    except psycopg.OperationalError as exc:
        raise ConfigError(
            f"PostgreSQL at {server_url} cannot be reached: {exc}".strip(),
            code="tryton.postgres_unreachable",
            remediation="Start PostgreSQL or fix --database-url (postgresql://host:port/).",
        ) from exc


def database_exists(server_url: str, name: str) -> bool:
    """Return True if the PostgreSQL server at ``server_url`` has database ``name``."""
    with _connect(server_url) as conn:
        row = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        return row is not None


def create_database(server_url: str, name: str, template: str | None = None) -> None:
    """Create database ``name`` (UTF-8), as a copy of ``template`` when one is given.

    A template copy takes well under a second, against a minute or more for a Tryton init.
    """
    from psycopg import sql

    query = sql.SQL("CREATE DATABASE {} ENCODING 'UTF8'").format(sql.Identifier(name))
    if template is not None:
        query = sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
            sql.Identifier(name), sql.Identifier(template)
        )
    with _connect(server_url) as conn:
        conn.execute(query)


def drop_database(server_url: str, name: str) -> None:
    """Drop database ``name`` if it exists, closing any session still connected to it."""
    from psycopg import sql

    query = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
    with _connect(server_url) as conn:
        conn.execute(query)
