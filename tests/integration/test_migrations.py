"""Alembic migrations: the migrated schema is exactly the tables the code describes."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from contractsync.adapters.persistence.engine import create_engine_for
from contractsync.adapters.persistence.migrate import current, ensure_current, head, upgrade
from contractsync.adapters.persistence.tables import metadata
from contractsync.errors import ConfigError


def test_the_migrated_schema_equals_the_table_metadata(empty_database_url: str) -> None:
    upgrade(empty_database_url)
    engine = create_engine_for(empty_database_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            differences = compare_metadata(context, metadata)
    finally:
        engine.dispose()
    assert differences == []


def test_an_upgrade_reaches_head_and_a_second_one_changes_nothing(
    empty_database_url: str,
) -> None:
    assert current(empty_database_url) is None
    assert upgrade(empty_database_url) == head()
    assert upgrade(empty_database_url) == head()
    assert current(empty_database_url) == head()


def test_an_unmigrated_database_is_refused_with_the_command_to_run(
    empty_database_url: str,
) -> None:
    engine = create_engine_for(empty_database_url)
    try:
        with pytest.raises(ConfigError) as info:
            ensure_current(engine)
    finally:
        engine.dispose()
    assert info.value.code == "database.not_migrated"
    assert "contractsync db upgrade" in info.value.remediation
    upgrade(empty_database_url)
    engine = create_engine_for(empty_database_url)
    try:
        ensure_current(engine)
    finally:
        engine.dispose()
