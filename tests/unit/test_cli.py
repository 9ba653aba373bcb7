"""The ``contractsync`` command line: the demo over the samples, and the JSON Schema export."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from contractsync.adapters.samples import load_samples
from contractsync.entrypoints.cli import app
from contractsync.entrypoints.schema_export import render_schemas

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
runner = CliRunner()


def test_samples_prints_every_contract_id_and_the_summary() -> None:
    result = runner.invoke(app, ["samples", "--examples", str(EXAMPLES / "contracts")])
    assert result.exit_code == 0, result.output
    cases = load_samples(EXAMPLES).cases
    for case in cases:
        assert case.contract.id in result.stdout
    assert "Summary" in result.stdout
    amendments = sum(len(case.amendments) for case in cases)
    assert f"{len(cases)} contracts" in result.stdout
    assert f"{amendments} amendments" in result.stdout
    assert "never-auto-apply-invoiced" in result.stdout


def test_samples_json_parses_and_carries_the_same_facts_as_the_samples() -> None:
    result = runner.invoke(app, ["samples", "--json", "--examples", str(EXAMPLES)])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    cases = {case.contract.id: case for case in load_samples(EXAMPLES).cases}
    assert [c["contract_id"] for c in report["contracts"]] == list(cases)
    for contract in report["contracts"]:
        case = cases[contract["contract_id"]]
        assert contract["value"] == str(case.expected.value)
        assert sorted(f["code"] for f in contract["findings"]) == sorted(case.expected.findings)
        decisions = [
            (a["decision"]["action"], a["decision"]["rule_id"]) for a in contract["amendments"]
        ]
        assert decisions == [(a.expected.action, a.expected.rule_id) for a in case.amendments]
    assert report["summary"]["all_as_expected"] is True
    assert report["summary"]["contracts"] == len(cases)
    assert report["policy"]["version"]


def test_samples_json_writes_amounts_as_strings_never_as_numbers() -> None:
    result = runner.invoke(app, ["samples", "--json", "--examples", str(EXAMPLES)])
    first = json.loads(result.stdout)["contracts"][0]
    assert isinstance(first["billing"]["total"], str)
    assert all(isinstance(e["amount"]["amount"], str) for e in first["billing"]["entries"])
    assert isinstance(first["amendments"][0]["plan"]["impact"]["delta"]["amount"], str)


def test_samples_without_samples_fails_and_says_what_to_do_next(tmp_path: Path) -> None:
    result = runner.invoke(app, ["samples", "--examples", str(tmp_path / "missing")])
    assert result.exit_code == 1
    assert "samples.invalid" in result.stderr
    assert "next:" in result.stderr


def test_samples_fails_when_the_core_disagrees_with_a_sample_expectation(tmp_path: Path) -> None:
    examples = shutil.copytree(EXAMPLES, tmp_path / "examples")
    target = examples / "contracts" / "03-rijnmond-advisory-retainer.yaml"
    target.write_text(
        target.read_text(encoding="utf-8").replace('value: "150000.00"', 'value: "150000.01"'),
        encoding="utf-8",
    )
    result = runner.invoke(app, ["samples", "--examples", str(examples)])
    assert result.exit_code == 1
    assert "03-rijnmond-advisory-retainer: value 150000.00, expected 150000.01" in result.stderr


def test_schema_export_writes_one_file_per_canonical_entity(tmp_path: Path) -> None:
    result = runner.invoke(app, ["schema", "export", str(tmp_path / "schemas")])
    assert result.exit_code == 0, result.output
    written = {
        path.name: path.read_text(encoding="utf-8") for path in (tmp_path / "schemas").iterdir()
    }
    assert written == render_schemas()


def test_schema_export_removes_only_stale_contractsync_schemas(tmp_path: Path) -> None:
    stale = tmp_path / "invoice_draft.schema.json"
    stale.write_text(json.dumps({"$id": "urn:contractsync:schema:invoice_draft:1.0"}))
    foreign = tmp_path / "other.schema.json"
    foreign.write_text(json.dumps({"$id": "https://example.com/other"}))
    result = runner.invoke(app, ["schema", "export", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert not stale.exists()
    assert foreign.exists()


def test_schema_export_to_an_unwritable_place_fails_and_says_what_to_do(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    result = runner.invoke(app, ["schema", "export", str(blocker / "schemas")])
    assert result.exit_code == 1
    assert "schema.export_failed" in result.stderr
    assert "next:" in result.stderr


def test_exported_schemas_accept_a_sample_contract_and_refuse_a_broken_one(tmp_path: Path) -> None:
    jsonschema = pytest.importorskip("jsonschema", reason="add jsonschema to the dev extras")
    runner.invoke(app, ["schema", "export", str(tmp_path)])
    case = load_samples(EXAMPLES).cases[0]
    for name, document in [("contract", case.contract), ("customer", case.customer)]:
        schema = json.loads((tmp_path / f"{name}.schema.json").read_text(encoding="utf-8"))
        jsonschema.Draft202012Validator.check_schema(schema)
        validator = jsonschema.Draft202012Validator(schema)
        validator.validate(document.model_dump(mode="json"))
    contract_schema = json.loads((tmp_path / "contract.schema.json").read_text(encoding="utf-8"))
    broken = case.contract.model_dump(mode="json")
    del broken["currency"]
    broken["status"] = "signed"
    errors = list(jsonschema.Draft202012Validator(contract_schema).iter_errors(broken))
    assert {error.validator for error in errors} == {"required", "enum"}
