"""The storage contract on the in-memory fake, SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from contractsync.adapters.persistence.unit_of_work import SqlUnitOfWork
from contractsync.testing.fakes import FixedClock, InMemoryStore, InMemoryUnitOfWork
from contractsync.testing.storage_contract import T0, StorageContract, StorageUnderTest


class TestInMemoryStorage(StorageContract):
    @pytest.fixture
    def storage(self) -> StorageUnderTest:
        store, clock = InMemoryStore(), FixedClock(T0)
        return StorageUnderTest(lambda: InMemoryUnitOfWork(store, clock), clock)


class TestSqlStorage(StorageContract):
    @pytest.fixture
    def storage(self, engine: Engine) -> StorageUnderTest:
        clock = FixedClock(T0)
        return StorageUnderTest(lambda: SqlUnitOfWork(engine, clock), clock)
