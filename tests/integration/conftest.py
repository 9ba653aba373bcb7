"""Fixtures for tests that need the hub database, on SQLite and on the real PostgreSQL.

``database_url`` is the fixture to reuse: it is parametrized over two backends, so a test
that asks for it runs twice:

- ``sqlite``: a fresh file in the test's ``tmp_path``;
- ``postgresql``: a fresh schema in the database ``test`` on 127.0.0.1:5432 (trust auth;
  override with ``CONTRACTSYNC_TEST_POSTGRES_URL``), selected through ``search_path`` in the
  URL and dropped afterwards. If the server is unreachable the test FAILS: it never skips.

The database is migrated to head. ``empty_database_url`` is the same without the migration.
Both are plain URL strings, ready for ``create_engine_for`` or ``database.url`` settings.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from contractsync.adapters.persistence.engine import create_engine_for
from contractsync.adapters.persistence.migrate import upgrade

POSTGRES_URL = os.environ.get(
    "CONTRACTSYNC_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)


def _postgres_admin() -> psycopg.Connection[tuple[object, ...]]:
    try:
        return psycopg.connect(POSTGRES_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        pytest.fail(
            f"PostgreSQL is unreachable at {POSTGRES_URL} ({exc}). These tests need it: start "
            "the server (or set CONTRACTSYNC_TEST_POSTGRES_URL) and run them again.",
            pytrace=False,
        )


@pytest.fixture
def postgres_schema_url() -> Iterator[str]:
    """A URL whose connections live in a fresh, empty PostgreSQL schema (dropped afterwards)."""
    schema = f"t_{uuid.uuid4().hex[:16]}"
    with _postgres_admin() as admin:
        admin.execute(f'CREATE SCHEMA "{schema}"')
    url = make_url(POSTGRES_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    yield url.render_as_string(hide_password=False)
    with _postgres_admin() as admin:
        admin.execute("SET lock_timeout = '20s'")
        admin.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, unmigrated hub database: a SQLite file, then a PostgreSQL schema."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'hub.sqlite'}"
    url: str = request.getfixturevalue("postgres_schema_url")
    return url


@pytest.fixture
def database_url(empty_database_url: str) -> str:
    """A fresh hub database migrated to head, on SQLite and on PostgreSQL (see module doc)."""
    upgrade(empty_database_url)
    return empty_database_url


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """An engine on ``database_url``, disposed after the test."""
    built = create_engine_for(database_url)
    yield built
    built.dispose()
