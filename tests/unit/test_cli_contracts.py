"""`contractsync contracts renew|terminate`: refusals exit 1 with what to do next, nothing started."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from contractsync.adapters.persistence.engine import create_engine_for
from contractsync.adapters.persistence.unit_of_work import SqlUnitOfWork
from contractsync.adapters.samples import load_samples
from contractsync.domain.contract import ContractStatus
from contractsync.entrypoints.cli import app
from contractsync.testing.fakes import FixedClock

runner = CliRunner()
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A migrated hub database holding one active contract (no engine ever ran on it)."""
    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///{tmp_path / 'hub.sqlite'}"
    monkeypatch.setenv("CONTRACTSYNC_DATABASE__URL", url)
    monkeypatch.setenv("CONTRACTSYNC_ACTOR", "legal@firm")
    monkeypatch.setenv("COLUMNS", "200")
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    case = load_samples(EXAMPLES).cases[0]
    active = case.contract.model_copy(update={"status": ContractStatus.ACTIVE})
    engine = create_engine_for(url)
    with SqlUnitOfWork(engine, FixedClock()) as uow:
        uow.records.put(
            "customer",
            case.customer.id,
            case.customer.model_dump(mode="json"),
            version=1,
            cause="t",
        )
        uow.records.put("contract", active.id, active.model_dump(mode="json"), version=1, cause="t")
        uow.commit()
    engine.dispose()
    return active.id


def test_renewing_an_unknown_contract_exits_1_saying_so(database: str) -> None:
    result = runner.invoke(app, ["contracts", "renew", "C-NOPE", "--end", "2099-12-31"])

    assert result.exit_code == 1
    assert "contract.unknown" in result.stderr
    assert "next:" in result.stderr


def test_a_renewal_that_ends_no_later_exits_1(database: str) -> None:
    result = runner.invoke(app, ["contracts", "renew", database, "--end", "2000-01-01"])

    assert result.exit_code == 1
    assert "renewal.not_later" in result.stderr


def test_a_date_that_is_not_yyyy_mm_dd_is_a_usage_error(database: str) -> None:
    result = runner.invoke(app, ["contracts", "renew", database, "--end", "31/12/2099"])

    assert result.exit_code == 2


def test_terminating_without_a_reason_is_a_usage_error(database: str) -> None:
    result = runner.invoke(app, ["contracts", "terminate", database, "--reason", "  "])

    assert result.exit_code == 2


def test_when_the_engine_cannot_be_reached_it_exits_1_and_nothing_is_audited(
    database: str,
) -> None:
    result = runner.invoke(app, ["contracts", "terminate", database, "--reason", "insolvency"])

    assert result.exit_code == 1
    assert "engine.database_unavailable" in result.stderr
    audit = runner.invoke(app, ["audit", "verify", "--json"])
    assert json.loads(audit.stdout)["checked"] == 0
