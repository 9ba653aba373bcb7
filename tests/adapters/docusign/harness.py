"""The DocuSign adapter's conformance harness: the adapter against an in-process simulator."""

from __future__ import annotations

from typing import ClassVar, Literal

import httpx
from cryptography.hazmat.primitives.asymmetric import rsa

from contractsync.adapters.docusign import DocuSignSignatureSource
from contractsync.domain.identity import ExternalRef
from contractsync.simulators import FaultPlan
from contractsync.simulators.docusign import DocuSignSimulator
from contractsync.testing.conformance import Fault, Role
from tests.adapters.docusign.conftest import INTEGRATION, settings

_KEY: list[rsa.RSAPrivateKey] = []


def _integration_key() -> rsa.RSAPrivateKey:
    # One key pair for every harness: generating one per test costs a tenth of a second.
    if not _KEY:
        _KEY.append(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    return _KEY[0]


class DocuSignHarness:
    """Builds ``DocuSignSignatureSource`` against a fresh ``DocuSignSimulator``.

    The ``signature_source`` role is read only: the suite runs its read checks (paging,
    error classification, throttles, credentials, round trip, health).
    """

    system = "docusign"
    role: ClassVar[Role] = "signature_source"
    # The faulted limit answer names no reset; the client waits for the hour to turn (>= 1 s).
    expected_retry_after = 1.0
    page_size = 2

    def __init__(self) -> None:
        key = _integration_key()
        self.sim = DocuSignSimulator(
            integrations={INTEGRATION: key.public_key()}, faults=FaultPlan(paths=["/restapi"])
        )
        self._transports: list[httpx.BaseTransport] = []

    def build(
        self, *, credentials: Literal["valid", "invalid"] = "valid"
    ) -> DocuSignSignatureSource:
        key = _integration_key()
        if credentials == "invalid":
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        transport = self.sim.transport()
        self._transports.append(transport)
        return DocuSignSignatureSource.connect(settings(key), transport=transport)

    def build_unreachable(self) -> DocuSignSignatureSource:
        return DocuSignSignatureSource.connect(
            settings(_integration_key(), auth_url="http://127.0.0.1:9")
        )

    def inject(self, fault: Fault, *, times: int = 1) -> None:
        self.sim.injector.force(*([fault] * times))

    def count_records(self, kind: str, key: str) -> int:
        raise AssertionError("a signature source is read only")

    def seed_signatures(self, keys: list[str]) -> list[ExternalRef]:
        refs = []
        with self.sim.client() as operator:
            for key in keys:
                created = operator.post(
                    "/_sim/scenarios/create_envelope", json={"contract_id": key}
                )
                envelope_id = created.json()["envelope_id"]
                operator.post(
                    "/_sim/scenarios/complete_envelope", json={"envelope_id": envelope_id}
                )
                refs.append(ExternalRef(system=self.system, kind="envelope", id=envelope_id))
        return refs

    def expected_contract_id(self, ref: ExternalRef) -> str:
        field = self.sim.account.envelope(ref.id).custom_fields[0]
        return str(field["value"])

    def close(self) -> None:
        for transport in self._transports:
            transport.close()
