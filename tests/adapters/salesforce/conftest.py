"""A Salesforce simulator served over HTTPS by uvicorn on loopback, for independent clients."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from contractsync.simulators.salesforce import SalesforceSimulator
from contractsync.simulators.server import Certificate, running, self_signed_certificate

TOKEN_FORM = {
    "grant_type": "client_credentials",
    "client_id": "sim-client",
    "client_secret": "sim-secret",
}


@dataclass
class Served:
    """The simulator, its base URL and the certificate a client must trust."""

    sim: SalesforceSimulator
    url: str
    certificate: Certificate

    def http(self) -> httpx.Client:
        context = ssl.create_default_context(cafile=str(self.certificate.certfile))
        return httpx.Client(base_url=self.url, verify=context)

    def token(self) -> str:
        with self.http() as client:
            response = client.post("/services/oauth2/token", data=TOKEN_FORM)
        response.raise_for_status()
        return str(response.json()["access_token"])


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    return self_signed_certificate(Path(tmp_path_factory.mktemp("tls")))


@pytest.fixture(scope="module")
def server(certificate: Certificate) -> Iterator[Served]:
    sim = SalesforceSimulator()
    with running(sim, tls=certificate) as url:
        yield Served(sim, url, certificate)


@pytest.fixture
def served(server: Served) -> Served:
    server.sim.reset()
    return server
