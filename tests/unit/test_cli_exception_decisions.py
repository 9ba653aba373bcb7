"""`contractsync exceptions resolve|dismiss` tell the waiting run; an unreachable engine fails nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from contractsync.adapters.persistence.engine import create_engine_for
from contractsync.adapters.persistence.unit_of_work import SqlUnitOfWork
from contractsync.domain.roles import OwnerRole
from contractsync.entrypoints.cli import app
from contractsync.services import exception_queue as queue
from contractsync.services.flow_decisions import waiting_evidence
from contractsync.testing.fakes import FixedClock

runner = CliRunner()
RUN = "amendment_rollout:C-1:v2"


@pytest.fixture
def waiting_item(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A migrated hub database (no engine has ever run on it) with an item a run waits on."""
    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///{tmp_path / 'hub.sqlite'}"
    monkeypatch.setenv("CONTRACTSYNC_DATABASE__URL", url)
    monkeypatch.setenv("CONTRACTSYNC_ACTOR", "ops@firm")
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    engine, clock = create_engine_for(url), FixedClock()
    with SqlUnitOfWork(engine, clock) as uow:
        item = queue.raise_exception(
            uow,
            clock,
            code="amendment.routed",
            message="C-1 v2 is outside the limits",
            owner=OwnerRole.FINANCE,
            remediation="Approve or reject it.",
            evidence=waiting_evidence(RUN, "decision C-1"),
            contract_id="C-1",
        )
        uow.commit()
    engine.dispose()
    return item.id


def test_resolving_when_the_engine_cannot_be_reached_still_resolves_and_says_the_run_will_poll(
    waiting_item: str,
) -> None:
    result = runner.invoke(app, ["exceptions", "resolve", waiting_item, "--note", "ok"])

    assert result.exit_code == 0, result.output
    assert f"{waiting_item} is now resolved" in result.stdout
    assert "told the waiting run" not in result.stdout
    assert RUN in result.stderr
    assert "next poll" in result.stderr
    shown = runner.invoke(app, ["exceptions", "show", waiting_item, "--json"])
    assert json.loads(shown.stdout)["status"] == "resolved"


def test_dismissing_with_json_prints_the_item_only(waiting_item: str) -> None:
    result = runner.invoke(
        app, ["exceptions", "dismiss", waiting_item, "--reason", "never agreed", "--json"]
    )

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["status"] == "dismissed"
