"""``contractsync reconcile``: the report table, the JSON, exit codes, and building from settings."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from contractsync.adapters.persistence.migrate import upgrade
from contractsync.bootstrap import Reconciliation, build_reconciliation
from contractsync.config import load_settings
from contractsync.domain.amending import apply_changes
from contractsync.domain.amendment import MilestoneReprice
from contractsync.domain.contract import ContractStatus
from contractsync.domain.ownership import DEFAULT_OWNERSHIP
from contractsync.entrypoints.cli import app
from contractsync.entrypoints.reconcile_cli import run_reconciliation
from contractsync.errors import ConfigError
from contractsync.policies import load_default_reconciliation_policy
from contractsync.ports.systems import SourcedContract
from contractsync.services.reconciliation_run import ABSENT_CODES
from tests.amendment_strategies import usd
from tests.unit.test_reconciliation_run import (
    US01,
    Hub,
    activate_in_hub,
    reject_in_hub,
    version_of,
)

runner = CliRunner()


def job_over(hub: Hub, *, notes: tuple[str, ...] = ()) -> Reconciliation:
    return Reconciliation(
        contracts=hub.clm,
        erp=hub.erp,
        psa=hub.psa,
        crm=hub.crm,
        uow_factory=hub.uow,
        clock=hub.clock,
        policy=load_default_reconciliation_policy(),
        ownership=DEFAULT_OWNERSHIP,
        absent_codes=ABSENT_CODES,
        legal_entities={"US01": US01},
        notes=notes,
        close=lambda: None,
    )


def run(hub: Hub, *, as_json: bool = False, heal: bool = True) -> tuple[int, str]:
    out = io.StringIO()
    code = run_reconciliation(
        job_over(hub, notes=("CRM not compared: example",)),
        contract_ids=None,
        heal=heal,
        as_json=as_json,
        out=Console(file=out, width=250),
        err=Console(file=io.StringIO()),
    )
    return code, out.getvalue()


def drifting() -> Hub:
    hub = Hub("C-1", "C-2")
    hub.edit_erp("C-1", MilestoneReprice(line_id="L1", milestone_id="M2", amount=usd(23500)))
    hub.drop_psa_milestone("C-2", "M1")
    return hub


def test_clean_systems_exit_zero_and_say_so() -> None:
    code, text = run(Hub("C-1"))
    assert code == 0
    assert "No drift" in text
    assert "clean" in text


def test_the_table_shows_each_drift_with_its_money_and_action_and_exits_one() -> None:
    hub = drifting()
    code, text = run(hub)
    (item,) = hub.exceptions()
    assert code == 1
    assert f"exception {item.id} (finance)" in text
    assert "lines.L1.milestones.M2.amount" in text
    assert "3500.00 USD" in text
    assert "healed" in text
    assert "Money at risk: 13500.00 USD (left 3500.00)" in text
    assert "milestone_mismatch 2" in text
    assert "note: CRM not compared: example" in text


def test_json_carries_the_summary_the_lines_and_what_was_not_compared() -> None:
    code, text = run(drifting(), as_json=True)
    document = json.loads(text)
    assert code == 1
    assert document["summary"] == {
        "contracts": 2,
        "drift": 2,
        "outcomes": {"healed": 1, "exception": 1, "reported": 0},
        "failures": 0,
        "money_at_risk": {"USD": "13500.00"},
        "unhealed_money_at_risk": {"USD": "3500.00"},
        "counts_by_kind": {"milestone_mismatch": 2},
        "clean": False,
    }
    lines = [line for c in document["contracts"] for line in c["lines"]]
    assert [(line["item"]["system"], line["outcome"]) for line in lines] == [
        ("erp", "exception"),
        ("psa", "healed"),
    ]
    assert document["not_compared"] == ["CRM not compared: example"]


def test_a_clm_version_rejected_in_the_hub_is_a_note_in_the_table_and_the_json() -> None:
    hub = Hub("C-1")
    stored = activate_in_hub(hub, "C-1")
    approved = stored.model_copy(update={"status": ContractStatus.APPROVED})
    amended = version_of(
        approved, 2, MilestoneReprice(line_id="L1", milestone_id="M2", amount=usd(45000))
    )
    customer = hub.clm.contracts["wf-C-1"].customer
    hub.clm.add(SourcedContract(contract=amended, customer=customer))
    reject_in_hub(hub, stored, amended, "not agreed")
    note = (
        "C-1: CLM v2 was rejected by finance on 2026-01-05 (not agreed); compared against "
        "the hub's v1"
    )

    code, text = run(hub)
    json_code, document = run(hub, as_json=True)

    assert (code, json_code) == (0, 0)
    assert f"note: {note}" in text
    assert "No drift" in text
    assert json.loads(document)["notes"] == [note]
    assert json.loads(document)["contracts"][0]["notes"] == [note]


def test_without_healing_the_run_writes_nothing_and_exits_one() -> None:
    hub = Hub("C-1")
    hub.drop_psa_milestone("C-1", "M1")
    code, text = run(hub, heal=False)
    assert code == 1
    assert "reported" in text
    assert "nothing was written" in text
    assert hub.psa.project_plan("C-1").milestone("M1") is None  # type: ignore[union-attr]


# -- from settings ---------------------------------------------------------------------


@pytest.fixture
def configured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A contractsync.yaml with a migrated hub database, an Ironclad CLM and a Tryton ERP."""
    url = f"sqlite:///{tmp_path / 'hub.sqlite'}"
    upgrade(url)
    monkeypatch.setenv("IRONCLAD_SECRET", "s3cret")
    monkeypatch.setenv("TRYTON_PASSWORD", "s3cret")
    path = tmp_path / "contractsync.yaml"
    path.write_text(
        f"""
database: {{url: "{url}"}}
systems:
  clm:
    vendor: ironclad
    options: {{base_url: "http://127.0.0.1:9", client_id: hub, as_user_email: hub@firm.example}}
    secrets: {{client_secret: {{env: IRONCLAD_SECRET}}}}
  erp:
    vendor: tryton
    options: {{url: "http://127.0.0.1:9", database: hub}}
    secrets: {{password: {{env: TRYTON_PASSWORD}}}}
""",
        encoding="utf-8",
    )
    return path


def test_the_settings_build_a_clm_and_an_erp_and_say_what_is_not_compared(
    configured: Path,
) -> None:
    job = build_reconciliation(load_settings(configured))
    try:
        assert (job.contracts.system, job.erp.system, job.psa, job.crm) == (
            "clm",
            "erp",
            None,
            None,
        )
        assert "tryton.unknown_project" in job.absent_codes
        assert any("CRM not compared" in note for note in job.notes)
        # Re-pushes use the legal entities the flows use (the examples' reference here).
        assert "US01" in job.legal_entities
        assert not any("no legal entities" in note for note in job.notes)
    finally:
        job.close()


def test_a_psa_that_cannot_read_plans_is_left_out_with_a_note(
    configured: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KANTATA_TOKEN", "s3cret")
    with configured.open("a", encoding="utf-8") as file:
        file.write(
            "  psa:\n    vendor: kantata\n"
            '    options: {base_url: "http://127.0.0.1:9"}\n'
            "    secrets: {token: {env: KANTATA_TOKEN}}\n"
        )
    job = build_reconciliation(load_settings(configured))
    try:
        has_plans = hasattr(job.psa, "project_plan") if job.psa is not None else False
        assert job.psa is None or has_plans
        assert (job.psa is None) == any("PSA psa not compared" in n for n in job.notes)
    finally:
        job.close()


def test_two_erps_are_refused_by_name(configured: Path) -> None:
    with configured.open("a", encoding="utf-8") as file:
        file.write(
            "  erp2:\n    vendor: tryton\n"
            '    options: {url: "http://127.0.0.1:9", database: other}\n'
            "    secrets: {password: {env: TRYTON_PASSWORD}}\n"
        )
    with pytest.raises(ConfigError, match=r"one ERP; systems configures 2 \(erp, erp2\)"):
        build_reconciliation(load_settings(configured))


def test_reconcile_without_a_clm_and_an_erp_exits_one_saying_what_to_configure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "200")
    result = runner.invoke(app, ["reconcile"])
    assert result.exit_code == 1
    assert "reconciliation needs a CLM and an ERP" in result.output
    assert "config.reconciliation_incomplete" in result.output


def test_a_reconciliation_policy_file_replaces_the_shipped_one(configured: Path) -> None:
    policy = configured.parent / "policy.yaml"
    policy.write_text(
        'policy: strict\nversion: "1"\ndefault: {action: route, owner: finance, reason: "all"}\n',
        encoding="utf-8",
    )
    job = build_reconciliation(load_settings(configured), policy_file=policy)
    try:
        assert (job.policy.name, job.policy.rule_ids) == ("strict", ())
    finally:
        job.close()


def test_an_erp_hand_edit_reaches_the_cli_report_through_the_fakes() -> None:
    hub = Hub("C-1")
    hub.erp.held["C-1"] = apply_changes(
        hub.erp.held["C-1"], [MilestoneReprice(line_id="L1", milestone_id="M1", amount=usd(9000))]
    )
    code, text = run(hub)
    assert code == 1
    assert "1000.00 USD" in text
