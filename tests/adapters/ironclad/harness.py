"""The Ironclad adapter's conformance harness: the adapter against an in-process simulator."""

from __future__ import annotations

import copy
from typing import Any, ClassVar, Literal

import httpx

from contractsync.adapters.ironclad import IroncladContractSource, IroncladSettings
from contractsync.domain.identity import ExternalRef
from contractsync.simulators import FaultKind, FaultPlan
from contractsync.simulators.ironclad import IroncladSimulator
from tests.adapters.ironclad.conftest import document

BASE_URL = "https://ironclad.simulator.invalid"
RATE_LIMIT_WAIT = 5.0
_SIGNING_KEY: Any = None


def settings(**overrides: Any) -> IroncladSettings:
    values: dict[str, Any] = {
        "base_url": BASE_URL,
        "client_id": "sim-client",
        "client_secret": "sim-secret",
        "as_user_email": "integration@contractsync.example",
        "rate_limit_wait_seconds": RATE_LIMIT_WAIT,
        "timeout_seconds": 2.0,
        "connect_timeout_seconds": 0.5,
    }
    return IroncladSettings.model_validate(values | overrides)


def _key() -> Any:
    # One RSA key for every harness: generating one per test costs a tenth of a second.
    global _SIGNING_KEY
    if _SIGNING_KEY is None:
        from cryptography.hazmat.primitives.asymmetric import rsa

        _SIGNING_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return _SIGNING_KEY


class IroncladHarness:
    """Builds ``IroncladContractSource`` against a fresh ``IroncladSimulator``."""

    system = "ironclad"
    role: ClassVar[str] = "contract_source"
    # The simulator's faulted 429 carries no Retry-After: the configured wait applies.
    expected_retry_after = RATE_LIMIT_WAIT
    page_size = 2

    def __init__(self) -> None:
        self.sim = IroncladSimulator(signing_key=_key(), faults=FaultPlan(paths=["/public/api/v1"]))
        self._transports: list[httpx.BaseTransport] = []
        self._template = document("01-harborview-erp-rollout.yaml")

    def build(
        self, *, credentials: Literal["valid", "invalid"] = "valid"
    ) -> IroncladContractSource:
        transport = self.sim.transport()
        self._transports.append(transport)
        secret = "sim-secret" if credentials == "valid" else "wrong-secret"
        return IroncladContractSource.connect(settings(client_secret=secret), transport=transport)

    def build_unreachable(self) -> IroncladContractSource:
        return IroncladContractSource.connect(settings(base_url="http://127.0.0.1:9"))

    def inject(self, fault: FaultKind, *, times: int = 1) -> None:
        self.sim.injector.force(*([fault] * times))

    def count_records(self, kind: str, key: str) -> int:
        assert kind == "contract"
        with self.sim.company.lock:
            return sum(
                w.attributes.get("contractId") == key for w in self.sim.company.workflows.values()
            )

    def seed_contracts(self, keys: list[str]) -> list[ExternalRef]:
        refs = []
        with self.sim.client() as operator:
            for key in keys:
                body = copy.deepcopy(self._template)
                body["contract"]["id"] = key
                body["contract"]["refs"] = []
                launched = operator.post("/_sim/scenarios/launch_workflow", json=body)
                launched.raise_for_status()
                workflow_id = launched.json()["id"]
                operator.post("/_sim/scenarios/approve_workflow", json={"workflow_id": workflow_id})
                refs.append(ExternalRef(system=self.system, kind="workflow", id=workflow_id))
        return refs

    def expected_contract_id(self, ref: ExternalRef) -> str:
        return str(self.sim.company.workflow(ref.id).attributes["contractId"])

    def close(self) -> None:
        for transport in self._transports:
            transport.close()
