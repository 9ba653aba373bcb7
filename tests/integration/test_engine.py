"""The hub engine: SQLite settings for one writer, PostgreSQL through psycopg 3, nothing eager."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from contractsync.adapters.persistence.engine import (
    SQLITE_BUSY_TIMEOUT_MS,
    create_engine_for,
    normalise_url,
)
from contractsync.errors import ConfigError


def test_a_sqlite_file_gets_its_folder_wal_normal_sync_busy_timeout_and_foreign_keys(
    tmp_path: Path,
) -> None:
    engine = create_engine_for(f"sqlite:///{tmp_path / 'deep' / 'er' / 'hub.sqlite'}")
    try:
        assert (tmp_path / "deep" / "er").is_dir()
        with engine.connect() as connection:
            pragma = {
                name: connection.execute(text(f"PRAGMA {name}")).scalar()
                for name in ("journal_mode", "synchronous", "busy_timeout", "foreign_keys")
            }
    finally:
        engine.dispose()
    assert pragma == {
        "journal_mode": "wal",
        "synchronous": 1,
        "busy_timeout": SQLITE_BUSY_TIMEOUT_MS,
        "foreign_keys": 1,
    }


def test_a_second_sqlite_transaction_waits_for_the_write_lock_even_to_read(
    tmp_path: Path,
) -> None:
    engine = create_engine_for(f"sqlite:///{tmp_path / 'hub.sqlite'}")
    try:
        with engine.connect() as first, engine.connect() as second:
            first.execute(text("SELECT 1"))  # BEGIN IMMEDIATE: first holds the write lock
            second.connection.dbapi_connection.execute("PRAGMA busy_timeout=50")  # type: ignore[union-attr]
            with pytest.raises(OperationalError, match="locked"):
                second.execute(text("SELECT 1"))
            first.commit()
            assert second.execute(text("SELECT 1")).scalar() == 1
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://db.internal/hub",
        "postgres://db.internal/hub",
        "postgresql+psycopg://db.internal/hub",
    ],
)
def test_postgresql_urls_use_psycopg_3(url: str) -> None:
    assert normalise_url(url).drivername == "postgresql+psycopg"


def test_building_an_engine_does_not_connect() -> None:
    engine = create_engine_for("postgresql://127.0.0.1:1/nowhere")
    assert engine.pool.checkedout() == 0
    engine.dispose()


@pytest.mark.parametrize("url", ["mysql://db/hub", "not a url"])
def test_an_unsupported_url_is_a_config_error_naming_the_setting(url: str) -> None:
    with pytest.raises(ConfigError) as info:
        create_engine_for(url)
    assert "database.url" in info.value.remediation
