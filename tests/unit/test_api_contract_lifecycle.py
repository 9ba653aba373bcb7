"""POST /contracts/{id}:renew and :terminate: 202 with the run, started once; 404, 409, 422."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from contractsync.domain.contract import Contract, ContractStatus
from contractsync.errors import TransientError
from contractsync.testing.fakes import InMemoryUnitOfWork
from tests.e2e.process_seed import FINANCE_KEY, LEGAL_KEY, ProcessHub, build_process_hub


@pytest.fixture
def hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ProcessHub]:
    yield from build_process_hub(monkeypatch, tmp_path)


def _with_status(hub: ProcessHub, status: ContractStatus, index: int = 0) -> Contract:
    """Store the next version of a seeded contract with ``status``; return it."""
    contract_id = hub.seeded.contracts[index]
    with InMemoryUnitOfWork(hub.store, hub.clock) as uow:
        stored = Contract.model_validate(uow.records.get("contract", contract_id))
        moved = stored.model_copy(update={"version": stored.version + 1, "status": status})
        uow.records.put(
            "contract",
            contract_id,
            moved.model_dump(mode="json"),
            version=moved.version,
            cause="test",
        )
        uow.commit()
    return moved


def _renew(hub: ProcessHub, contract_id: str, body: Any, **headers: str) -> Any:
    return hub.post(f"/api/v1/contracts/{contract_id}:renew", body, **headers)


def _terminate(hub: ProcessHub, contract_id: str, body: Any, **headers: str) -> Any:
    return hub.post(f"/api/v1/contracts/{contract_id}:terminate", body, **headers)


def test_renewing_an_active_contract_starts_the_run_of_its_next_version_once(hub):
    active = _with_status(hub, ContractStatus.ACTIVE)
    new_end = date(active.term.end.year + 1, 12, 31).isoformat()

    first = _renew(hub, active.id, {"new_end": new_end})
    again = _renew(hub, active.id, {"new_end": new_end})

    assert first.status_code == 202, first.text
    run = f"amendment_rollout:{active.id}:v{active.version + 1}"
    assert first.json() == {
        "kind": "renewal",
        "contract_id": active.id,
        "workflow_id": run,
        "version": active.version + 1,
        "new_end": new_end,
        "reason": None,
        "masked_fields": [],
    }
    assert again.json()["workflow_id"] == run
    assert list(hub.operator.started) == [run]
    (renewed,) = hub.operator.started[run]
    assert renewed.contract.term.end.isoformat() == new_end
    assert renewed.contract.status is ContractStatus.APPROVED
    audit = [e for e in hub.store.audit if e.action == "contract.renewal_requested"]
    assert [(e.actor, e.subject) for e in audit] == [("api:admin", f"contract:{active.id}")] * 2


def test_a_renewal_to_another_end_while_that_version_runs_is_409_and_starts_nothing(hub):
    active = _with_status(hub, ContractStatus.ACTIVE)
    first = _renew(hub, active.id, {"new_end": "2098-12-31"})

    other = _renew(hub, active.id, {"new_end": "2099-12-31"})

    assert first.status_code == 202
    assert other.status_code == 409
    assert other.json()["code"] == "renewal.version_taken"
    (renewed,) = hub.operator.started[first.json()["workflow_id"]]
    assert renewed.contract.term.end == date(2098, 12, 31)
    audit = [e for e in hub.store.audit if e.action == "contract.renewal_requested"]
    assert len(audit) == 1


def test_terminating_an_active_contract_starts_its_termination_run_once(hub):
    active = _with_status(hub, ContractStatus.ACTIVE)
    body = {"reason": "customer insolvency"}

    first = _terminate(hub, active.id, body, **{"Idempotency-Key": "t-1"})
    retried = _terminate(hub, active.id, body, **{"Idempotency-Key": "t-1"})
    again = _terminate(hub, active.id, body)

    assert first.status_code == 202, first.text
    run = f"contract_termination:{active.id}"
    assert (first.json()["workflow_id"], first.json()["version"]) == (run, active.version)
    assert first.json()["reason"] == "customer insolvency"
    assert retried.headers["idempotent-replayed"] == "true"
    assert again.json()["workflow_id"] == run
    assert hub.operator.started == {run: (active.id, "customer insolvency")}
    assert hub.operator.starts == [run, run]  # the replayed answer started nothing


def test_an_expired_contract_may_be_renewed_and_a_suspended_one_terminated(hub):
    expired = _with_status(hub, ContractStatus.EXPIRED, index=1)
    suspended = _with_status(hub, ContractStatus.SUSPENDED, index=2)

    renewed = _renew(hub, expired.id, {"new_end": "2099-12-31"})
    terminated = _terminate(hub, suspended.id, {"reason": "breach"})
    not_renewed = _renew(hub, suspended.id, {"new_end": "2099-12-31"})

    assert (renewed.status_code, terminated.status_code) == (202, 202)
    assert not_renewed.status_code == 409
    assert not_renewed.json()["code"] == "contract.not_active"


def test_a_contract_not_yet_active_is_409_and_nothing_starts(hub):
    approved = hub.seeded.contracts[0]  # seeded as the CLM approved it, never activated

    renew = _renew(hub, approved, {"new_end": "2099-12-31"})
    terminate = _terminate(hub, approved, {"reason": "no longer needed"})

    for response in (renew, terminate):
        assert response.status_code == 409
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"] == "contract.not_active"
        assert "approved" in response.json()["detail"]
    assert hub.operator.starts == []


def test_a_renewal_that_ends_no_later_is_409(hub):
    active = _with_status(hub, ContractStatus.ACTIVE)

    response = _renew(hub, active.id, {"new_end": active.term.end.isoformat()})

    assert response.status_code == 409
    assert response.json()["code"] == "renewal.not_later"
    assert hub.operator.starts == []


def test_an_unknown_contract_is_404(hub):
    renew = _renew(hub, "C-NOPE", {"new_end": "2099-12-31"})
    terminate = _terminate(hub, "C-NOPE", {"reason": "x"})

    assert (renew.status_code, terminate.status_code) == (404, 404)
    assert renew.json()["code"] == terminate.json()["code"] == "contract.unknown"


@pytest.mark.parametrize(
    ("action", "body"),
    [
        ("renew", {}),
        ("renew", {"new_end": "31/12/2099"}),
        ("terminate", {}),
        ("terminate", {"reason": "   "}),
    ],
)
def test_a_bad_body_is_422_naming_the_field(hub, action, body):
    active = _with_status(hub, ContractStatus.ACTIVE)

    response = hub.post(f"/api/v1/contracts/{active.id}:{action}", body)

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"].startswith("body")
    assert hub.operator.starts == []


def test_renewing_and_terminating_need_contracts_write_which_legal_holds_and_finance_not(hub):
    active = _with_status(hub, ContractStatus.ACTIVE)

    refused = _terminate(hub, active.id, {"reason": "x"}, key=FINANCE_KEY)
    allowed = _terminate(hub, active.id, {"reason": "x"}, key=LEGAL_KEY)

    assert refused.status_code == 403
    assert "contracts:write" in refused.json()["detail"]
    assert allowed.status_code == 202


def test_an_engine_that_cannot_be_reached_is_503_and_nothing_is_audited(hub):
    active = _with_status(hub, ContractStatus.ACTIVE)
    hub.operator.failure = TransientError("engine down", code="engine.database_unavailable")

    response = _terminate(hub, active.id, {"reason": "x"})

    assert response.status_code == 503
    assert response.headers["retry-after"]
    assert not [e for e in hub.store.audit if e.action.startswith("contract.")]
