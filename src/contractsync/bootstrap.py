"""The composition root: the only place that reads settings and builds adapters and services."""

from __future__ import annotations

from sqlalchemy import Engine

from contractsync.adapters.clock import SystemClock
from contractsync.adapters.persistence.engine import create_engine_for
from contractsync.adapters.persistence.migrate import ensure_current
from contractsync.adapters.persistence.unit_of_work import SqlUnitOfWork
from contractsync.config import Settings
from contractsync.ports.clock import Clock


def build_clock() -> Clock:
    """The real clock."""
    return SystemClock()


def build_engine(settings: Settings, *, check_migrated: bool = True) -> Engine:
    """The hub database engine for ``settings.database.url`` (connects only to check it).

    Raises:
        ConfigError: if the URL is not SQLite or PostgreSQL, the database is unreachable, or
            (with ``check_migrated``) it is not at the shipped revision: the remediation
            says to run ``contractsync db upgrade``.
    """
    engine = create_engine_for(settings.database.url)
    if check_migrated:
        try:
            ensure_current(engine)
        except BaseException:
            engine.dispose()
            raise
    return engine


def build_unit_of_work(
    settings: Settings, *, engine: Engine | None = None, clock: Clock | None = None
) -> SqlUnitOfWork:
    """A unit of work on the hub database (builds and checks the engine unless given one).

    Build the engine once per process with :func:`build_engine` and pass it in when many
    units are needed; one unit serves one thread at a time.

    Raises:
        ConfigError: as :func:`build_engine`.
    """
    return SqlUnitOfWork(engine or build_engine(settings), clock or build_clock())
