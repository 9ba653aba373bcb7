"""Programmatic Alembic: upgrade the hub database, read its revision, refuse an outdated one."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import OperationalError

from contractsync.adapters.persistence.engine import create_engine_for, normalise_url
from contractsync.errors import ConfigError

MIGRATIONS = Path(__file__).resolve().parent / "migrations"

# Two processes starting at once (several workers) must not both run the same migration.
_MIGRATION_LOCK = 0x636F_6E74_7261_6D69


def alembic_config(url: str | URL) -> Config:
    """An Alembic configuration for ``url`` without any alembic.ini (the scripts ship inside)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    rendered = normalise_url(url).render_as_string(hide_password=False)
    # ConfigParser interpolation would read a percent sign in a password as a placeholder.
    config.set_main_option("sqlalchemy.url", rendered.replace("%", "%%"))
    return config


def head() -> str:
    """The newest revision shipped with this release."""
    revision = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    assert revision is not None, "the migrations folder ships at least one revision"
    return revision


def upgrade(url: str | URL, revision: str = "head") -> str:
    """Migrate the database at ``url`` to ``revision``; return the revision it is now at.

    Safe to run from several processes at once: on PostgreSQL the upgrade holds an advisory
    lock, on SQLite the IMMEDIATE transaction serialises it.

    Raises:
        ConfigError: if the database cannot be reached.
    """
    engine = create_engine_for(url)
    try:
        with _connect(engine) as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK}
                )
            config = alembic_config(url)
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
            now = MigrationContext.configure(connection).get_current_revision()
            connection.commit()
    finally:
        engine.dispose()
    return now or "base"


def current(url: str | URL) -> str | None:
    """The revision the database at ``url`` is at; None when it was never migrated.

    Raises:
        ConfigError: if the database cannot be reached.
    """
    engine = create_engine_for(url)
    try:
        return current_revision(engine)
    finally:
        engine.dispose()


def current_revision(engine: Engine) -> str | None:
    """The revision of the database behind ``engine``; None when it was never migrated.

    Raises:
        ConfigError: if the database cannot be reached.
    """
    with _connect(engine) as connection:
        return MigrationContext.configure(connection).get_current_revision()


def ensure_current(engine: Engine) -> None:
    """Check that the database behind ``engine`` is at the shipped head revision.

    Raises:
        ConfigError: if it was never migrated or is at another revision; the remediation
            says to run ``contractsync db upgrade``.
    """
    found = current_revision(engine)
    expected = head()
    if found == expected:
        return
    state = "has no contractsync tables" if found is None else f"is at revision {found}"
    raise ConfigError(
        f"the hub database {state}; this release needs revision {expected}",
        code="database.not_migrated",
        remediation="Run `contractsync db upgrade` (same config), then try again.",
        detail={"found": found, "expected": expected},
    )


def _connect(engine: Engine) -> Connection:
    try:
        return engine.connect()
    except OperationalError as exc:
        where = engine.url.render_as_string(hide_password=True)
        raise ConfigError(
            f"cannot reach the hub database at {where}",
            code="database.unreachable",
            remediation="Start the database server or fix database.url, then try again.",
            detail={"reason": str(exc.orig)},
        ) from exc
