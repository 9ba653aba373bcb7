"""A real trytond on loopback serving a provisioned SQLite database, shared by the session."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from contractsync.adapters.tryton.client import TrytonClient
from contractsync.adapters.tryton.config import TrytonSettings
from contractsync.adapters.tryton.gateway import TrytonFinancialSystem
from contractsync.adapters.tryton.projects import TrytonProjects
from contractsync.adapters.tryton.provisioning import ProvisionedDatabase, provision
from contractsync.adapters.tryton.records import TrytonRecords
from contractsync.adapters.tryton.server import TrytonServer
from contractsync.adapters.tryton.site import TrytonSite
from tests.adapters.tryton.samples import gateway_settings


@pytest.fixture(scope="session")
def tryton_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("tryton")


@pytest.fixture(scope="session")
def provisioned(tryton_root: Path) -> ProvisionedDatabase:
    # The default cache makes every run after the first a file copy.
    return provision(TrytonSite(tryton_root, "hub"), force=True)


@pytest.fixture(scope="session")
def tryton_server(provisioned: ProvisionedDatabase) -> Iterator[TrytonServer]:
    with TrytonServer(provisioned.site) as server:
        yield server


@pytest.fixture(scope="session")
def settings(provisioned: ProvisionedDatabase, tryton_server: TrytonServer) -> TrytonSettings:
    return provisioned.settings(tryton_server.url)


@pytest.fixture
def client(settings: TrytonSettings) -> Iterator[TrytonClient]:
    with TrytonClient(settings) as tryton:
        yield tryton


@pytest.fixture
def records(client: TrytonClient) -> TrytonRecords:
    return TrytonRecords(client)


@pytest.fixture
def projects(client: TrytonClient) -> TrytonProjects:
    return TrytonProjects(client)


@pytest.fixture
def tag() -> str:
    """A unique suffix, so tests sharing the session database never see each other's codes."""
    return uuid.uuid4().hex[:8].upper()


@pytest.fixture
def gateway(client: TrytonClient, settings: TrytonSettings) -> TrytonFinancialSystem:
    return TrytonFinancialSystem(client, gateway_settings(settings), sleep=lambda _s: None)
