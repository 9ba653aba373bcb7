"""Where the workflow engine keeps its state, derived from the hub database settings.

Two layouts, one per deployment (reference/engine.md §1.2):

* **SQLite (embedded)**: a second file beside the hub database, ``<stem>.dbos.sqlite``. DBOS
  opens SQLite in rollback-journal mode with ``synchronous=FULL``; this module hands DBOS its own
  engine with WAL and ``synchronous=NORMAL``, which about doubled throughput in the trials
  (§1.8), and keeps DBOS's own connect settings: IMMEDIATE transactions (writers serialise
  instead of failing on lock upgrades), a 30 s busy timeout and foreign keys.
* **PostgreSQL (scale-out)**: the hub database itself, with DBOS's tables in the ``dbos``
  schema. One database means one connection string to operate and lets the ingress enqueue a
  workflow in the transaction that stores its inbox row (``DBOSClient.enqueue_in_transaction``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from contractsync.config import Settings
from contractsync.errors import ConfigError

SYSTEM_SCHEMA = "dbos"
"""PostgreSQL schema holding the engine's tables inside the hub database."""

_BUSY_TIMEOUT_MS = 30_000


def system_database_url(settings: Settings) -> str:
    """Return the engine's database URL for ``settings``.

    ``engine.system_database_url`` wins when set. Otherwise a SQLite hub database
    ``sqlite:///dir/hub.sqlite`` gives ``sqlite:///dir/hub.dbos.sqlite`` and a PostgreSQL hub
    database is used as is (the engine's tables live in the ``dbos`` schema).

    Raises:
        ConfigError: for an in-memory SQLite database (nothing would survive a crash) or a
            database kind the engine does not support.
    """
    explicit = settings.engine.system_database_url
    url = make_url(explicit or settings.database.url)
    if url.get_backend_name() == "sqlite":
        if not url.database or url.database == ":memory:":
            raise ConfigError(
                "the workflow engine needs a SQLite file, not an in-memory database",
                remediation="Set database.url (or engine.system_database_url) to sqlite:///<file>.",
            )
        if explicit:
            return url.render_as_string(hide_password=False)
        hub = Path(url.database)
        beside = hub.with_name(f"{hub.stem}.dbos{hub.suffix or '.sqlite'}")
        return f"sqlite:///{beside}"
    if url.get_backend_name() == "postgresql":
        # DBOS picks its own driver (psycopg 3); a driver suffix from the hub URL is dropped.
        return url.set(drivername="postgresql").render_as_string(hide_password=False)
    raise ConfigError(
        f"the workflow engine cannot keep its state in a {url.get_backend_name()} database",
        remediation="Use a SQLite file or PostgreSQL for database.url.",
    )


def is_sqlite(url: str) -> bool:
    """Tell whether ``url`` names a SQLite database."""
    return make_url(url).get_backend_name() == "sqlite"


def sqlite_engine(url: str) -> sa.Engine:
    """Build the WAL engine DBOS is given for a SQLite system database.

    The parent folder is created, so a fresh checkout starts without a setup step.
    """
    database = make_url(url).database
    if database:
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(url, pool_pre_ping=False)

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = "IMMEDIATE"
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # NORMAL is durable in WAL mode across process crashes; only an OS crash or power
        # loss can drop the last commits, which the engine then re-runs (steps are idempotent).
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    return engine
