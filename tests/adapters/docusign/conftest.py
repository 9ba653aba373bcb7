"""Shared fixtures: an integration key pair, a driven clock, a Connect listener, a token."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from contractsync.adapters.docusign import DocuSignSettings
from contractsync.simulators import FaultPlan
from contractsync.simulators.docusign import DocuSignSimulator

INTEGRATION = "f0f0a1b2-integration-key"
USER_ID = "4bab81d9-df25-45c5-ab9a-09b8ffb2bd09"
ACCOUNT_ID = "adbce049-7d35-4cca-834b-59da859a6c65"
BASE_URL = "https://docusign.simulator.invalid"
LISTENER = "https://hub.example/webhooks/docusign"
KEYS = ["k" * 40, "second-connect-key-after-rotation-000000"]


@dataclass
class Clock:
    """A clock the test moves by hand (starts 10 minutes into an hour)."""

    now: float = 1_759_996_800.0 + 600  # 1_759_996_800 is the top of an hour

    def __call__(self) -> float:
        return self.now


@dataclass
class Listener:
    """The hub's Connect listener: records deliveries and answers ``statuses`` in turn."""

    statuses: list[int] = field(default_factory=list)
    requests: list[httpx.Request] = field(default_factory=list)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(self.statuses.pop(0) if self.statuses else 200)

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(r.content) for r in self.requests]


@pytest.fixture(scope="session")
def integration_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def private_pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def listener() -> Listener:
    return Listener()


@pytest.fixture
def make_sim(
    integration_key: rsa.RSAPrivateKey, clock: Clock, listener: Listener
) -> Iterator[Callable[..., DocuSignSimulator]]:
    clients: list[httpx.Client] = []

    def make(**options: Any) -> DocuSignSimulator:
        clients.append(httpx.Client(transport=httpx.MockTransport(listener.handle)))
        options.setdefault("faults", FaultPlan())
        return DocuSignSimulator(
            integrations={INTEGRATION: integration_key.public_key()},
            clock=clock,
            webhook_client=clients[-1],
            **options,
        )

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def sim(make_sim: Callable[..., DocuSignSimulator]) -> DocuSignSimulator:
    return make_sim()


def settings(key: rsa.RSAPrivateKey, **overrides: Any) -> DocuSignSettings:
    values: dict[str, Any] = {
        "auth_url": BASE_URL,
        "integration_key": INTEGRATION,
        "user_id": USER_ID,
        "private_key": private_pem(key),
        "timeout_seconds": 2.0,
        "connect_timeout_seconds": 0.5,
    }
    return DocuSignSettings.model_validate(values | overrides)


def jwt(key: rsa.RSAPrivateKey, now: float, **claims: Any) -> str:
    """An RS256 assertion written from the JWT-grant documentation, independently of the hub."""

    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    body = {"iss": INTEGRATION, "sub": USER_ID, "aud": "docusign.simulator.invalid",
            "iat": int(now), "exp": int(now) + 3600, "scope": "signature impersonation"}  # fmt: skip
    signing_input = f"{part({'alg': 'RS256', 'typ': 'JWT'})}.{part(body | claims)}"
    signature = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{base64.urlsafe_b64encode(signature).rstrip(b'=').decode()}"


def token(http: httpx.Client, key: rsa.RSAPrivateKey, now: float | None = None) -> str:
    form = {"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
            "assertion": jwt(key, now or time.time())}  # fmt: skip
    response = http.post("/oauth/token", data=form)
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def create(http: httpx.Client, contract_id: str = "SOW-2025-0142", **extra: Any) -> str:
    answer = http.post(
        "/_sim/scenarios/create_envelope", json={"contract_id": contract_id, **extra}
    )
    assert answer.status_code == 200, answer.text
    return str(answer.json()["envelope_id"])
