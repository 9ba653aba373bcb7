"""A Kantata simulator in process for the adapter, and served by uvicorn for independent clients."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from contractsync.adapters.kantata import KantataProjectTracker
from contractsync.simulators.kantata import KantataSimulator
from contractsync.simulators.server import running
from tests.adapters.kantata import samples

API = "/api/v1"


@dataclass
class Served:
    """The simulator on a loopback port."""

    sim: KantataSimulator
    url: str

    def api(self, token: str = "sim-token") -> httpx.Client:
        return httpx.Client(
            base_url=f"{self.url}{API}", headers={"Authorization": f"Bearer {token}"}, timeout=10
        )

    def operator(self) -> httpx.Client:
        return httpx.Client(base_url=f"{self.url}/_sim", timeout=10)


@pytest.fixture(scope="module")
def server() -> Iterator[Served]:
    sim = KantataSimulator()
    with running(sim) as url:
        yield Served(sim, url)


@pytest.fixture
def served(server: Served) -> Served:
    server.sim.reset()
    return server


@pytest.fixture
def sim() -> KantataSimulator:
    return KantataSimulator()


@pytest.fixture
def tracker(sim: KantataSimulator) -> Iterator[KantataProjectTracker]:
    transport = sim.transport()
    yield KantataProjectTracker.connect(samples.settings(), transport=transport)
    transport.close()
