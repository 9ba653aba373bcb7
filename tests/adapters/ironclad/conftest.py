"""Shared fixtures: one RSA key per session, a driven clock, a webhook receiver, the samples."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from contractsync.adapters.samples import load_case
from contractsync.simulators import FaultPlan
from contractsync.simulators.ironclad import IroncladSimulator

EXAMPLES = Path(__file__).parents[3] / "examples" / "contracts"
HOOK_URL = "https://hub.example/webhooks/ironclad"
USER = "integration@contractsync.example"


@dataclass
class Clock:
    """A clock the test moves by hand."""

    now: float = 1_760_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Receiver:
    """The hub's webhook endpoint: records every delivery and answers ``statuses`` in turn."""

    statuses: list[int] = field(default_factory=list)
    requests: list[httpx.Request] = field(default_factory=list)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        status = self.statuses.pop(0) if self.statuses else 200
        return httpx.Response(status)


@pytest.fixture(scope="session")
def signing_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def receiver() -> Receiver:
    return Receiver()


@pytest.fixture
def make_sim(
    signing_key: rsa.RSAPrivateKey, clock: Clock, receiver: Receiver
) -> Iterator[Callable[..., IroncladSimulator]]:
    made: list[httpx.Client] = []

    def make(**options: Any) -> IroncladSimulator:
        client = httpx.Client(transport=httpx.MockTransport(receiver.handle))
        made.append(client)
        options.setdefault("faults", FaultPlan())
        return IroncladSimulator(
            signing_key=signing_key, clock=clock, webhook_client=client, **options
        )

    yield make
    for client in made:
        client.close()


@pytest.fixture
def sim(make_sim: Callable[..., IroncladSimulator]) -> IroncladSimulator:
    return make_sim()


def document(name: str) -> dict[str, Any]:
    """The canonical ``{customer, contract}`` document of one sample, JSON-ready."""
    case = load_case(EXAMPLES / name)
    return {
        "customer": case.customer.model_dump(mode="json"),
        "contract": case.contract.model_dump(mode="json"),
    }


def token(http: httpx.Client) -> str:
    form = {
        "grant_type": "client_credentials",
        "client_id": "sim-client",
        "client_secret": "sim-secret",
    }
    response = http.post("/oauth/token", data=form)
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def headers(http: httpx.Client, *, user: str | None = USER) -> dict[str, str]:
    found = {"Authorization": f"Bearer {token(http)}"}
    if user:
        found["x-as-user-email"] = user
    return found


def launch(http: httpx.Client, name: str = "01-harborview-erp-rollout.yaml", **extra: Any) -> str:
    response = http.post("/_sim/scenarios/launch_workflow", json={**document(name), **extra})
    assert response.status_code == 200, response.text
    return str(response.json()["id"])
