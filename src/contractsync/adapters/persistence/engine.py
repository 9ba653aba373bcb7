"""Builds the SQLAlchemy engine for the hub database: SQLite (WAL, one writer) or PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.pool import StaticPool

from contractsync.errors import ConfigError

SQLITE_BUSY_TIMEOUT_MS = 30_000
"""How long a SQLite writer waits for the write lock before giving up."""


def normalise_url(url: str | URL) -> URL:
    """Return ``url`` with the driver contractsync uses: pysqlite or psycopg 3.

    ``postgresql://`` and ``postgres://`` become ``postgresql+psycopg://``.

    Raises:
        ConfigError: if the URL is not a SQLite or PostgreSQL URL.
    """
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError) as exc:
        raise ConfigError(
            f"database url {str(url)!r} is not a valid URL",
            code="database.bad_url",
            remediation="Set database.url to sqlite:///path/file.sqlite or postgresql://host/db.",
        ) from exc
    backend = parsed.get_backend_name()
    if backend == "postgres":
        parsed = parsed.set(drivername="postgresql")
        backend = "postgresql"
    if backend == "postgresql":
        return parsed.set(drivername="postgresql+psycopg")
    if backend == "sqlite":
        return parsed.set(drivername="sqlite+pysqlite")
    raise ConfigError(
        f"database url {parsed.render_as_string(hide_password=True)!r} is neither SQLite nor "
        "PostgreSQL",
        code="database.unsupported",
        remediation="Set database.url to sqlite:///path/file.sqlite or postgresql://host/db.",
    )


def create_engine_for(url: str | URL) -> Engine:
    """Create (but do not connect) the engine for the hub database at ``url``.

    SQLite: WAL journal, ``synchronous=NORMAL``, a busy timeout, foreign keys on, and every
    transaction ``BEGIN IMMEDIATE`` so that there is exactly one writer at a time (which also
    serialises audit appends). The file's folder is created. PostgreSQL: psycopg 3 with
    ``pool_pre_ping`` so a restarted server costs one failed ping, not a failed request.

    Raises:
        ConfigError: if the URL is not a SQLite or PostgreSQL URL.
    """
    parsed = normalise_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed)
    return create_engine(parsed, pool_pre_ping=True)


def _sqlite_engine(url: URL) -> Engine:
    database = url.database or ""
    in_memory = database in {"", ":memory:"} or database.startswith("file::memory:")
    options: dict[str, Any] = {"connect_args": {"check_same_thread": False}}
    if in_memory:
        # Every connection to :memory: is a new empty database: share one connection.
        options["poolclass"] = StaticPool
    else:
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, **options)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from pysqlite so that "begin" below decides.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        if not in_memory:
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # IMMEDIATE takes the write lock up front: two deferred readers that both later
        # write would otherwise deadlock into SQLITE_BUSY instead of waiting their turn.
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def is_sqlite(engine: Engine) -> bool:
    """True when ``engine`` talks to SQLite."""
    return engine.dialect.name == "sqlite"
