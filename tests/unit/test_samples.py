"""The sample contracts in ``examples/`` load, and the core does exactly what each one expects."""

from __future__ import annotations

import shutil
import typing
from decimal import Decimal
from functools import cache
from pathlib import Path

import pytest

from contractsync.adapters.samples import (
    SampleCase,
    SampleError,
    load_case,
    load_reference,
    load_samples,
)
from contractsync.domain.amendment import Change
from contractsync.domain.contract_line import BillingModel
from contractsync.domain.valuation import contract_value
from contractsync.errors import ContractSyncError
from contractsync.policies import load_default_policy
from contractsync.services.amendments import plan_for_amendment
from contractsync.services.billing import build_billing_schedule
from contractsync.services.policy import decide
from contractsync.services.revenue import build_revenue_schedule
from contractsync.services.validation import validate_contract

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
CONTRACT_FILES = sorted((EXAMPLES / "contracts").glob("*.yaml"))
REFERENCE = load_reference(EXAMPLES / "reference.yaml")


@cache
def sample(path: Path) -> SampleCase:
    return load_case(path)


AMENDMENTS = [
    pytest.param(path, index, id=amendment.amendment.id)
    for path in CONTRACT_FILES
    for index, amendment in enumerate(sample(path).amendments)
]
by_stem = pytest.mark.parametrize("path", CONTRACT_FILES, ids=lambda path: path.stem)


@by_stem
def test_sample_file_loads_into_canonical_models(path: Path) -> None:
    case = sample(path)
    assert case.name == path.stem
    assert case.contract.customer_id == case.customer.id
    assert case.contract.version == 1


@by_stem
def test_validation_finds_exactly_the_expected_findings(path: Path) -> None:
    case = sample(path)
    findings = validate_contract(
        case.contract,
        customer=case.customer,
        legal_entities=REFERENCE.legal_entity_map,
        service_codes=REFERENCE.service_codes,
    )
    assert sorted(f.code for f in findings) == sorted(case.expected.findings)


@by_stem
def test_contract_value_and_schedule_totals_match_the_expected_amounts(path: Path) -> None:
    case = sample(path)
    contract = case.contract
    entity = REFERENCE.legal_entity_map.get(contract.legal_entity_code)

    def amount_or_none(build: typing.Callable[[], typing.Any]) -> Decimal | None:
        try:
            return build().total.amount
        except ContractSyncError:
            return None

    assert contract_value(contract).amount == case.expected.value
    billed = (
        None
        if entity is None
        else amount_or_none(lambda: build_billing_schedule(contract, legal_entity=entity))
    )
    assert billed == case.expected.billing_total
    assert amount_or_none(lambda: build_revenue_schedule(contract)) == case.expected.revenue_total


@pytest.mark.parametrize(("path", "index"), AMENDMENTS)
def test_default_policy_decides_each_amendment_as_the_sample_expects(
    path: Path, index: int
) -> None:
    amendment = sample(path).amendments[index]
    plan = plan_for_amendment(amendment.prior, amendment.amendment, erp=amendment.erp)
    decision = decide(load_default_policy(), plan.facts())
    expected = amendment.expected
    assert (decision.action, decision.owner, decision.rule_id) == (
        expected.action,
        expected.owner,
        expected.rule_id,
    )


def test_there_are_at_least_fourteen_contracts_and_ten_amendments() -> None:
    cases = load_samples(EXAMPLES).cases
    assert len(cases) >= 14
    assert sum(len(case.amendments) for case in cases) >= 10


def test_amendments_cover_every_change_kind_and_every_default_policy_outcome() -> None:
    cases = load_samples(EXAMPLES).cases
    amendments = [a for case in cases for a in case.amendments]
    union = typing.get_args(typing.get_args(Change)[0])
    every_kind = {model.model_fields["kind"].default for model in union}
    assert {change.kind for a in amendments for change in a.amendment.changes} == every_kind
    every_rule = {*load_default_policy().rule_ids, "default"}
    assert {a.expected.rule_id for a in amendments} == every_rule
    assert any(a.erp.invoiced_milestone_ids for a in amendments)
    assert any(a.erp.contract != a.prior for a in amendments), "no sample has an ERP hand edit"


def test_samples_span_every_billing_model_and_several_currencies_and_entities() -> None:
    cases = load_samples(EXAMPLES).cases
    contracts = [case.contract for case in cases]
    assert {line.model for c in contracts for line in c.lines} == set(BillingModel)
    assert len({c.currency for c in contracts}) >= 5
    assert len({c.legal_entity_code for c in contracts}) >= 6
    assert len({c.tax_treatment for c in contracts}) >= 5


def copy_examples(tmp_path: Path) -> Path:
    shutil.copytree(EXAMPLES, tmp_path / "examples")
    return tmp_path / "examples"


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_an_amount_finer_than_the_currency_names_the_file_and_the_field(tmp_path: Path) -> None:
    target = copy_examples(tmp_path) / "contracts" / "01-harborview-erp-rollout.yaml"
    edit(target, "{amount: 96000.00, currency: USD}", "{amount: 96000.005, currency: USD}")
    with pytest.raises(SampleError) as info:
        load_case(target)
    message = info.value.message
    assert "01-harborview-erp-rollout.yaml" in message
    assert "contract.lines[0].billing.fixed_fee.milestones[0].amount" in message
    assert "more decimals than USD allows" in message


def test_broken_yaml_names_the_file_and_the_line(tmp_path: Path) -> None:
    target = copy_examples(tmp_path) / "contracts" / "02-hanseatic-data-platform.yaml"
    edit(target, "  legal_name: Hanseatic", "  legal_name: [Hanseatic")
    with pytest.raises(SampleError) as info:
        load_samples(tmp_path / "examples")
    assert "02-hanseatic-data-platform.yaml" in info.value.message
    assert "line 6" in info.value.message


def test_an_amendment_that_does_not_fit_its_prior_version_names_it(tmp_path: Path) -> None:
    target = copy_examples(tmp_path) / "contracts" / "01-harborview-erp-rollout.yaml"
    edit(
        target,
        "line_id: L1, milestone_id: M3, due_date: 2025-09-30",
        "line_id: L1, milestone_id: M9, due_date: 2025-09-30",
    )
    with pytest.raises(SampleError) as info:
        load_case(target)
    assert "amendments[0].amendment" in info.value.message
    assert "no milestone M9" in info.value.message


def test_an_invoiced_milestone_the_contract_lacks_names_the_erp_field(tmp_path: Path) -> None:
    target = copy_examples(tmp_path) / "contracts" / "07-malnad-core-banking.yaml"
    edit(target, "invoiced_milestones: [M1]", "invoiced_milestones: [M7]")
    with pytest.raises(SampleError) as info:
        load_case(target)
    assert "amendments[0].erp.invoiced_milestones[0]" in info.value.message


def test_a_folder_without_samples_says_what_to_pass(tmp_path: Path) -> None:
    with pytest.raises(SampleError) as info:
        load_samples(tmp_path / "nowhere")
    assert "--examples" in info.value.remediation


def test_decimals_are_read_exactly_and_norway_stays_a_country_code(tmp_path: Path) -> None:
    reference = copy_examples(tmp_path) / "reference.yaml"
    edit(reference, "country: GB", "country: NO")
    edit(reference, "region: GB-LND", "region: null")
    edit(
        reference, "{scheme: gb_vat, value: GB980780684}", "{scheme: no_mva, value: NO995525828MVA}"
    )
    assert load_reference(reference).legal_entity_map["GB01"].country == "NO"
    target = tmp_path / "examples" / "contracts" / "04-thameside-analytics-subscription.yaml"
    edit(target, "{amount: 18000.00, currency: GBP}", "{amount: 18000.10, currency: GBP}")
    line = load_case(target).contract.lines[0]
    assert line.amounts()[0].amount == Decimal("18000.10")
