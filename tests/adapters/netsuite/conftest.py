"""A NetSuite simulator in process for the adapter, and served by uvicorn for independent clients."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from contractsync.adapters.netsuite import NetSuiteFinancialSystem
from contractsync.simulators.netsuite import NetSuiteSimulator
from contractsync.simulators.server import running
from tests.adapters.netsuite import samples

TOKEN_PATH = "/services/rest/auth/oauth2/v1/token"
RECORDS = "/services/rest/record/v1"


def b64(value: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


def assertion(token_url: str, *, kid: str = "sim-certificate", lifetime: int = 300) -> str:
    """A JWT shaped as NetSuite's M2M flow documents it (the simulator checks no signature)."""
    now = int(time.time())
    header = {"typ": "JWT", "alg": "ES256", "kid": kid}
    claims = {
        "iss": "sim-client",
        "scope": "rest_webservices",
        "aud": token_url,
        "iat": now,
        "exp": now + lifetime,
    }
    return f"{b64(header)}.{b64(claims)}.c2lnbmF0dXJl"


def token_form(token_url: str, **changes: str) -> dict[str, str]:
    return {
        "grant_type": "client_credentials",
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": assertion(token_url),
        **changes,
    }


@dataclass
class Served:
    """The simulator on a loopback port and a bearer token for it."""

    sim: NetSuiteSimulator
    url: str

    def http(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=10)

    def token(self) -> str:
        with self.http() as client:
            response = client.post(TOKEN_PATH, data=token_form(f"{self.url}{TOKEN_PATH}"))
        response.raise_for_status()
        return str(response.json()["access_token"])

    def api(self) -> httpx.Client:
        client = self.http()
        client.headers["Authorization"] = f"Bearer {self.token()}"
        return client


@pytest.fixture(scope="module")
def server() -> Iterator[Served]:
    sim = NetSuiteSimulator(service_time_ms=0)
    with running(sim) as url:
        yield Served(sim, url)


@pytest.fixture
def served(server: Served) -> Served:
    server.sim.reset()
    server.sim.service_time = 0.0
    return server


@pytest.fixture
def sim() -> NetSuiteSimulator:
    return NetSuiteSimulator()


@pytest.fixture
def gateway(sim: NetSuiteSimulator) -> Iterator[NetSuiteFinancialSystem]:
    transport = sim.transport()
    yield NetSuiteFinancialSystem.connect(samples.settings(), transport=transport)
    transport.close()
