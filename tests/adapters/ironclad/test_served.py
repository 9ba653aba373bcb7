"""The Ironclad simulator as a real server on loopback, read by the adapter over a socket."""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric import rsa

from contractsync.adapters.ironclad import IroncladContractSource
from contractsync.domain.identity import ExternalRef
from contractsync.simulators.ironclad import IroncladSimulator
from contractsync.simulators.server import running
from tests.adapters.ironclad.conftest import launch
from tests.adapters.ironclad.harness import settings


def test_the_adapter_reads_a_served_simulator(signing_key: rsa.RSAPrivateKey) -> None:
    sim = IroncladSimulator(signing_key=signing_key)
    with sim.client() as operator:
        workflow_id = launch(operator)
        operator.post("/_sim/scenarios/approve_workflow", json={"workflow_id": workflow_id})
    with running(sim) as url:
        source = IroncladContractSource.connect(settings(base_url=url))
        listed = source.list_contracts(cursor=None, limit=10)
        sourced = source.fetch_contract(
            ExternalRef(system="ironclad", kind="workflow", id=workflow_id)
        )
        health = source.check()
    assert [r.id for r in listed.items] == [workflow_id]
    assert sourced.contract.id == "SOW-2025-0142"
    assert sourced.contract.status == "approved"
    assert health.ok
