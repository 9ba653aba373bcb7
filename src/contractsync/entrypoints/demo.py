"""The demo: every sample contract through the core, from validation to the policy decision.

For each sample: validate the contract, value it, build its billing and revenue schedules,
then plan each amendment against the version it targets and the described ERP state and let
the default policy decide. Each amendment is planned as if the earlier ones had been approved,
because amendment n is written against contract version n. Nothing is written anywhere.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ConfigDict

from contractsync.adapters.samples import (
    ExpectedDecision,
    ExpectedOutcome,
    SampleAmendment,
    SampleCase,
    SampleError,
    SampleReference,
    load_samples,
)
from contractsync.domain.amendment import Amendment
from contractsync.domain.contract import Contract
from contractsync.domain.customer import Customer
from contractsync.domain.decision import PolicyDecision
from contractsync.domain.finding import Finding
from contractsync.domain.money import Money
from contractsync.domain.plan import AmendmentPlan
from contractsync.domain.schedules import BillingSchedule, RevenueSchedule
from contractsync.domain.valuation import contract_value
from contractsync.errors import ContractSyncError
from contractsync.policies import load_default_policy
from contractsync.services.amendments import plan_for_amendment
from contractsync.services.billing import build_billing_schedule
from contractsync.services.policy import Policy, decide
from contractsync.services.revenue import build_revenue_schedule
from contractsync.services.validation import validate_contract

T = TypeVar("T")

LOCAL_EXAMPLES = Path("examples") / "contracts"
"""Where the demo looks first: the sample folder of a repository checkout."""


class StepError(BaseModel):
    """Why one step of the demo produced no result (the core refused, as it should)."""

    model_config = ConfigDict(frozen=True)

    code: str
    message: str
    remediation: str

    @classmethod
    def of(cls, error: ContractSyncError) -> StepError:
        """Keep the user-facing parts of ``error``; its internal detail stays out."""
        return cls(code=error.code, message=error.message, remediation=error.remediation)


class AmendmentRun(BaseModel):
    """One amendment: its plan, the policy decision, and how that compares to the sample."""

    model_config = ConfigDict(frozen=True)

    amendment: Amendment
    plan: AmendmentPlan | None = None
    decision: PolicyDecision | None = None
    error: StepError | None = None
    expected: ExpectedDecision
    mismatches: tuple[str, ...] = ()


class ContractRun(BaseModel):
    """One sample contract through the core: findings, value, schedules and amendments."""

    model_config = ConfigDict(frozen=True)

    name: str
    customer: Customer
    contract: Contract
    findings: tuple[Finding, ...]
    value: Money | None = None
    value_error: StepError | None = None
    billing: BillingSchedule | None = None
    billing_error: StepError | None = None
    revenue: RevenueSchedule | None = None
    revenue_error: StepError | None = None
    amendments: tuple[AmendmentRun, ...] = ()
    expected: ExpectedOutcome
    mismatches: tuple[str, ...] = ()

    @property
    def is_blocked(self) -> bool:
        """True when a blocking finding stops activation."""
        return any(finding.is_blocking for finding in self.findings)


class DemoReport(BaseModel):
    """Everything the demo found, in sample-file order."""

    model_config = ConfigDict(frozen=True)

    examples: str
    policy_name: str
    policy_version: str
    contracts: tuple[ContractRun, ...]

    @property
    def amendment_runs(self) -> list[AmendmentRun]:
        """Every amendment of every contract, in order."""
        return [run for contract in self.contracts for run in contract.amendments]

    @property
    def mismatches(self) -> list[str]:
        """Every difference between what the core did and what the sample files expect."""
        found = [f"{c.name}: {m}" for c in self.contracts for m in c.mismatches]
        found += [
            f"{c.name} {a.amendment.id}: {m}"
            for c in self.contracts
            for a in c.amendments
            for m in a.mismatches
        ]
        return found

    def decision_counts(self) -> Counter[str]:
        """How many amendments were auto-applied or routed to each owner (``route:finance``)."""
        return Counter(
            "auto_apply" if not run.decision.is_routed else f"route:{run.decision.owner}"
            for run in self.amendment_runs
            if run.decision is not None
        )


def default_examples_dir() -> Path:
    """Return ``./examples/contracts`` if it exists, else the copy packaged in the wheel.

    Raises:
        SampleError: if neither exists (an editable install run outside the repository).
    """
    if LOCAL_EXAMPLES.is_dir():
        return LOCAL_EXAMPLES
    packaged = Path(str(resources.files("contractsync").joinpath("_examples", "contracts")))
    if packaged.is_dir():
        return packaged
    raise SampleError(
        "no sample contracts found in ./examples/contracts or in the installed package",
        remediation="Run from the repository root, or pass --examples DIR.",
    )


def run_demo(directory: Path, *, policy: Policy | None = None) -> DemoReport:
    """Put every sample in ``directory`` through the core and collect what happened.

    Raises:
        SampleError: if the samples cannot be loaded (the message names file and field).
    """
    samples = load_samples(directory)
    chosen = policy or load_default_policy()
    return DemoReport(
        examples=str(directory),
        policy_name=chosen.name,
        policy_version=chosen.version,
        contracts=tuple(_run_case(case, samples.reference, chosen) for case in samples.cases),
    )


def _run_case(case: SampleCase, reference: SampleReference, policy: Policy) -> ContractRun:
    contract = case.contract
    findings = validate_contract(
        contract,
        customer=case.customer,
        legal_entities=reference.legal_entity_map,
        service_codes=reference.service_codes,
    )
    value, value_error = _attempt(lambda: contract_value(contract))
    entity = reference.legal_entity_map.get(contract.legal_entity_code)
    billing: BillingSchedule | None = None
    if entity is None:
        billing_error: StepError | None = StepError(
            code="legal_entity.unmapped",
            message=f"no billing schedule: legal entity {contract.legal_entity_code} is not ours",
            remediation="Map the contract to one of the legal entities in reference.yaml.",
        )
    else:
        billing, billing_error = _attempt(
            lambda: build_billing_schedule(contract, legal_entity=entity)
        )
    revenue, revenue_error = _attempt(lambda: build_revenue_schedule(contract))
    run = ContractRun(
        name=case.name,
        customer=case.customer,
        contract=contract,
        findings=tuple(findings),
        value=value,
        value_error=value_error,
        billing=billing,
        billing_error=billing_error,
        revenue=revenue,
        revenue_error=revenue_error,
        amendments=tuple(_run_amendment(sample, policy) for sample in case.amendments),
        expected=case.expected,
    )
    return run.model_copy(update={"mismatches": tuple(_contract_mismatches(run))})


def _attempt(step: Callable[[], T]) -> tuple[T | None, StepError | None]:
    """Run one core step; a refusal by the core is a result to show, not a crash."""
    try:
        return step(), None
    except ContractSyncError as error:
        return None, StepError.of(error)


def _run_amendment(sample: SampleAmendment, policy: Policy) -> AmendmentRun:
    try:
        plan = plan_for_amendment(sample.prior, sample.amendment, erp=sample.erp)
    except ContractSyncError as error:
        return AmendmentRun(
            amendment=sample.amendment,
            error=StepError.of(error),
            expected=sample.expected,
            mismatches=(f"no plan could be made: {error.message}",),
        )
    decision = decide(policy, plan.facts())
    got = (decision.action, decision.owner, decision.rule_id)
    want = (sample.expected.action, sample.expected.owner, sample.expected.rule_id)
    mismatches = (
        ()
        if got == want
        else (f"decision {_decision_text(*got)}, expected {_decision_text(*want)}",)
    )
    return AmendmentRun(
        amendment=sample.amendment,
        plan=plan,
        decision=decision,
        expected=sample.expected,
        mismatches=mismatches,
    )


def _decision_text(action: str, owner: object, rule_id: str) -> str:
    return f"{action}{f' to {owner}' if owner else ''} by rule {rule_id}"


def _contract_mismatches(run: ContractRun) -> list[str]:
    expected = run.expected
    found: list[str] = []
    codes = sorted(finding.code for finding in run.findings)
    if codes != sorted(expected.findings):
        found.append(f"findings {codes}, expected {sorted(expected.findings)}")
    totals = {
        "value": run.value,
        "billing total": run.billing.total if run.billing else None,
        "revenue total": run.revenue.total if run.revenue else None,
    }
    wanted = {
        "value": expected.value,
        "billing total": expected.billing_total,
        "revenue total": expected.revenue_total,
    }
    for label, money in totals.items():
        got = None if money is None else money.amount
        if got != wanted[label]:
            found.append(f"{label} {got}, expected {wanted[label]}")
    return found
