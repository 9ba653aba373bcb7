"""Operator commands against a temporary SQLite hub database: db, exceptions and audit."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text, update
from typer.testing import CliRunner

from contractsync.adapters.persistence.engine import create_engine_for
from contractsync.adapters.persistence.migrate import head
from contractsync.adapters.persistence.tables import audit_log
from contractsync.adapters.persistence.unit_of_work import SqlUnitOfWork
from contractsync.domain.roles import OwnerRole, Severity
from contractsync.entrypoints.cli import app
from contractsync.services import exception_queue as queue
from contractsync.testing.fakes import FixedClock

runner = CliRunner()


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """An empty hub database URL, configured through the environment as an operator would."""
    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///{tmp_path / 'var' / 'hub.sqlite'}"
    monkeypatch.setenv("CONTRACTSYNC_DATABASE__URL", url)
    monkeypatch.setenv("CONTRACTSYNC_ACTOR", "ops@firm")
    monkeypatch.setenv("COLUMNS", "160")
    return url


@pytest.fixture
def items(database: str) -> list[str]:
    """A migrated database holding two open items (finance with a workflow, legal)."""
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    engine = create_engine_for(database)
    clock = FixedClock()
    with SqlUnitOfWork(engine, clock) as uow:
        first = queue.raise_exception(
            uow,
            clock,
            code="customer.tax_id_invalid",
            message="VAT id DE123 is not valid",
            owner=OwnerRole.FINANCE,
            severity=Severity.HIGH,
            remediation="Correct the VAT id in the CRM, then retry.",
            evidence={"workflow_id": "wf-C-1"},
            contract_id="C-1",
        )
        clock.advance(timedelta(minutes=1))
        second = queue.raise_exception(
            uow,
            clock,
            code="contract.clause_unknown",
            message="Clause 14.2 is unknown",
            owner=OwnerRole.LEGAL,
            remediation="Map the clause, or dismiss.",
        )
        ids = [first.id, second.id]
        uow.commit()
    engine.dispose()
    return ids


def _json(args: list[str]) -> object:
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_db_upgrade_creates_the_database_and_repeating_it_is_harmless(database: str) -> None:
    first = runner.invoke(app, ["db", "upgrade"])
    assert first.exit_code == 0, first.output
    assert f"revision {head()}" in first.stdout
    assert _json(["db", "upgrade"]) == {"revision": head(), "head": head()}


def test_an_unmigrated_database_says_to_run_db_upgrade(database: str) -> None:
    result = runner.invoke(app, ["exceptions", "list", "--json"])
    assert result.exit_code == 1
    assert "contractsync db upgrade" in result.stderr


def test_exceptions_list_json_returns_the_items_and_filters_them(items: list[str]) -> None:
    listed = _json(["exceptions", "list"])
    assert isinstance(listed, list)
    assert [i["id"] for i in listed] == items
    finance = _json(["exceptions", "list", "--owner", "finance", "--status", "open"])
    assert isinstance(finance, list)
    assert [i["id"] for i in finance] == items[:1]
    assert _json(["exceptions", "list", "--status", "resolved"]) == []


def test_exceptions_list_and_show_print_tables(items: list[str]) -> None:
    listed = runner.invoke(app, ["exceptions", "list"])
    assert listed.exit_code == 0, listed.output
    assert "customer.tax_id_invalid" in listed.stdout
    shown = runner.invoke(app, ["exceptions", "show", items[0]])
    assert shown.exit_code == 0, shown.output
    assert "VAT id DE123 is not valid" in shown.stdout
    assert "wf-C-1" in shown.stdout


def test_an_operator_assigns_retries_resolves_and_dismisses_then_the_audit_verifies(
    items: list[str], tmp_path: Path
) -> None:
    finance, legal = items
    assigned = _json(["exceptions", "assign", finance, "--to", "dana@finance"])
    assert isinstance(assigned, dict)
    assert (assigned["status"], assigned["assignee"]) == ("assigned", "dana@finance")
    # A retry replays the item's run through the engine; none ever ran here, so it says so.
    retried = runner.invoke(app, ["exceptions", "retry", finance])
    assert retried.exit_code == 1, retried.output
    assert "workflow engine's database cannot be read" in retried.output
    (tmp_path / "fix.json").write_text('{"vat_id": "DE811569869"}')
    resolved = _json(
        ["exceptions", "resolve", finance, "--note", "VAT id corrected", "--data", "fix.json"]
    )
    assert isinstance(resolved, dict)
    assert resolved["evidence"]["corrected_data"] == {"vat_id": "DE811569869"}
    dismissed = runner.invoke(app, ["exceptions", "dismiss", legal, "--reason", "not a clause"])
    assert dismissed.exit_code == 0, dismissed.output
    assert "dismissed" in dismissed.stdout
    shown = _json(["exceptions", "show", finance])
    assert isinstance(shown, dict)
    assert [h["actor"] for h in shown["history"]] == ["ops@firm"] * 2
    verified = runner.invoke(app, ["audit", "verify"])
    assert verified.exit_code == 0, verified.output
    assert "audit log intact: 5 entries" in verified.stdout
    report = _json(["audit", "verify"])
    assert isinstance(report, dict)
    assert (report["intact"], report["checked"]) == (True, 5)


def test_acting_on_a_closed_or_unknown_item_fails_with_what_to_do_next(items: list[str]) -> None:
    assert runner.invoke(app, ["exceptions", "dismiss", items[1], "--reason", "x"]).exit_code == 0
    again = runner.invoke(app, ["exceptions", "assign", items[1], "--to", "sam"])
    assert again.exit_code == 1
    assert "exception.illegal_action" in again.stderr
    missing = runner.invoke(app, ["exceptions", "show", "EX-NOPE"])
    assert missing.exit_code == 1
    assert "contractsync exceptions list" in missing.stderr


def test_audit_verify_fails_and_names_the_first_tampered_entry(
    items: list[str], database: str
) -> None:
    engine = create_engine_for(database)
    with engine.begin() as connection:
        # An insider with DDL rights first drops the append-only guard.
        connection.execute(text("DROP TRIGGER audit_log_no_update"))
        connection.execute(
            update(audit_log).where(audit_log.c.seq == 2).values(payload={"to": "resolved"})
        )
    engine.dispose()
    result = runner.invoke(app, ["audit", "verify"])
    assert result.exit_code == 1
    assert "seq 2" in result.stderr
    assert "edited" in result.stderr
    report = runner.invoke(app, ["audit", "verify", "--json"])
    assert report.exit_code == 1
    assert json.loads(report.stdout)["first_break"]["seq"] == 2
