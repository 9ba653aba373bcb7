"""Reads the sample contracts in ``examples/`` (YAML) into typed canonical models.

Each amendment is resolved against the contract version it targets and against a described
ERP state, so a caller gets exactly what the amendment planner needs. A broken file raises
:class:`SampleError` naming the file and the field.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Self

import yaml
from pydantic import Field, ValidationError, model_validator

from contractsync.domain.amending import apply_amendment, apply_changes
from contractsync.domain.amendment import Amendment, Change
from contractsync.domain.base import ValueObject
from contractsync.domain.codes import Identifier
from contractsync.domain.contract import Contract
from contractsync.domain.customer import Customer, LegalEntity
from contractsync.domain.decision import DecisionAction
from contractsync.domain.roles import OwnerRole
from contractsync.domain.snapshot import FinancialSnapshot
from contractsync.errors import AmendmentError, DataError

REFERENCE_FILE = "reference.yaml"
"""Name of the reference-data file, next to the ``contracts`` folder."""


class SampleError(DataError):
    """A sample file is missing, unreadable or does not describe valid canonical records."""

    default_code = "samples.invalid"
    default_remediation = "Fix the file and field named in the message, then run again."


class _SampleLoader(yaml.SafeLoader):
    """Safe YAML that reads decimals exactly and keeps codes such as ``NO`` or ``ON`` as text."""


# YAML 1.1 reads yes/no/on/off as booleans, which would turn Norway (NO) into False.
_SampleLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_SampleLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def _construct_decimal(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Decimal:
    # Money refuses floats; reading "1250.50" straight into a Decimal keeps it exact.
    text = str(loader.construct_scalar(node)).replace("_", "")
    try:
        return Decimal(text)
    except InvalidOperation as exc:  # .inf and .nan: no amount is infinite
        raise yaml.constructor.ConstructorError(
            None, None, f"{text!r} is not a finite decimal number", node.start_mark
        ) from exc


_SampleLoader.add_constructor("tag:yaml.org,2002:float", _construct_decimal)


class SampleReference(ValueObject):
    """Reference data shared by every sample: our legal entities and the service catalogue."""

    legal_entities: tuple[LegalEntity, ...] = Field(min_length=1)
    services: dict[Identifier, str] = Field(min_length=1, description="Service code -> name.")

    @model_validator(mode="after")
    def _unique_entities(self) -> Self:
        codes = [entity.code for entity in self.legal_entities]
        if len(codes) != len(set(codes)):
            raise ValueError("legal entity codes repeat")
        return self

    @property
    def legal_entity_map(self) -> dict[str, LegalEntity]:
        """Legal entities by code."""
        return {entity.code: entity for entity in self.legal_entities}

    @property
    def service_codes(self) -> frozenset[str]:
        """Every service code in the catalogue."""
        return frozenset(self.services)


class ErpState(ValueObject):
    """The ERP an amendment meets: invoiced milestones, closed periods, and hand edits.

    ``hand_edits`` are changes made in the ERP by hand, applied to its copy of the prior version.
    """

    invoiced_milestones: tuple[Identifier, ...] = ()
    closed_through: date | None = None
    hand_edits: tuple[Change, ...] = ()


class ExpectedDecision(ValueObject):
    """What the default policy should decide for an amendment."""

    action: DecisionAction
    owner: OwnerRole | None = None
    rule_id: str = Field(min_length=1)

    @model_validator(mode="after")
    def _owner_when_routed(self) -> Self:
        if (self.action is DecisionAction.ROUTE) != (self.owner is not None):
            raise ValueError("a routed decision names an owner; an auto-applied one does not")
        return self


class ExpectedOutcome(ValueObject):
    """What the core should find for a contract; a None total cannot be computed."""

    findings: tuple[str, ...] = ()
    value: Decimal | None = None
    billing_total: Decimal | None = None
    revenue_total: Decimal | None = None


class _AmendmentEntry(ValueObject):
    amendment: Amendment
    erp: ErpState = ErpState()
    expected: ExpectedDecision


class _SampleFile(ValueObject):
    customer: Customer
    contract: Contract
    amendments: tuple[_AmendmentEntry, ...] = ()
    expected: ExpectedOutcome


class SampleAmendment(ValueObject):
    """An amendment ready to plan: the version it targets and the ERP state it meets."""

    amendment: Amendment
    prior: Contract
    erp: FinancialSnapshot
    expected: ExpectedDecision


class SampleCase(ValueObject):
    """One sample file: a customer, a signed contract, its amendments and the expectations."""

    name: str = Field(description="File name without its extension, e.g. '01-acme-erp-rollout'.")
    customer: Customer
    contract: Contract
    amendments: tuple[SampleAmendment, ...] = ()
    expected: ExpectedOutcome


class SampleSet(ValueObject):
    """Every sample case of a folder together with the reference data they share."""

    reference: SampleReference
    cases: tuple[SampleCase, ...]


def load_samples(directory: Path) -> SampleSet:
    """Load the reference data and every ``*.yaml`` sample contract, in file-name order.

    The layout is ``examples/reference.yaml`` (our legal entities and the service catalogue)
    next to ``examples/contracts/NN-slug.yaml`` (one customer, one contract, its amendments
    and what to expect). ``directory`` is either the ``contracts`` folder or the examples root.

    Raises:
        SampleError: if the folder, the reference file or any sample file is missing or
            invalid; the message names the file and the field.
    """
    contracts = directory / "contracts" if (directory / "contracts").is_dir() else directory
    paths = sorted(contracts.glob("*.yaml"))
    if not paths:
        raise SampleError(
            f"{contracts} is not a folder of *.yaml sample contracts",
            remediation="Pass --examples with the folder that holds the NN-slug.yaml contracts.",
        )
    reference = load_reference(contracts.parent / REFERENCE_FILE)
    return SampleSet(reference=reference, cases=tuple(load_case(path) for path in paths))


def load_reference(path: Path) -> SampleReference:
    """Load the legal entities and service catalogue from ``path``.

    Raises:
        SampleError: if the file is missing or invalid; the message names the field.
    """
    data = _read_yaml(path)
    try:
        return SampleReference.model_validate(data)
    except ValidationError as exc:
        raise _invalid(path, exc) from exc


def load_case(path: Path) -> SampleCase:
    """Load one sample contract file and resolve its amendments against their prior versions.

    Raises:
        SampleError: if the file is missing, is not valid YAML, does not match the sample
            format, or an amendment (or an ERP hand edit) does not apply to its prior version.
    """
    data = _read_yaml(path)
    try:
        sample = _SampleFile.model_validate(data)
    except ValidationError as exc:
        raise _invalid(path, exc) from exc
    amendments: list[SampleAmendment] = []
    prior = sample.contract
    for index, entry in enumerate(sample.amendments):
        erp = _erp_snapshot(path, index, prior, entry.erp)
        amendments.append(
            SampleAmendment(
                amendment=entry.amendment, prior=prior, erp=erp, expected=entry.expected
            )
        )
        try:
            prior = apply_amendment(prior, entry.amendment)
        except AmendmentError as exc:
            raise _field_error(path, f"amendments[{index}].amendment", exc.message) from exc
    return SampleCase(
        name=path.stem,
        customer=sample.customer,
        contract=sample.contract,
        amendments=tuple(amendments),
        expected=sample.expected,
    )


def _erp_snapshot(path: Path, index: int, prior: Contract, state: ErpState) -> FinancialSnapshot:
    where = f"amendments[{index}].erp"
    known = {milestone.id for _, milestone in prior.milestones()}
    for position, milestone_id in enumerate(state.invoiced_milestones):
        if milestone_id not in known:
            problem = f"version {prior.version} of {prior.id} has no milestone {milestone_id!r}"
            raise _field_error(path, f"{where}.invoiced_milestones[{position}]", problem)
    try:
        erp_contract = apply_changes(prior, state.hand_edits)
    except AmendmentError as exc:
        raise _field_error(path, f"{where}.hand_edits", exc.message) from exc
    return FinancialSnapshot(
        contract=erp_contract,
        invoiced_milestone_ids=frozenset(state.invoiced_milestones),
        closed_through=state.closed_through,
    )


def _read_yaml(path: Path) -> Mapping[str, Any]:
    try:
        with path.open(encoding="utf-8") as stream:
            # A SafeLoader subclass: builds no Python objects. Reading from the open file
            # lets YAML errors name it.
            data = yaml.load(stream, Loader=_SampleLoader)
    except (OSError, yaml.YAMLError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else f"not valid YAML: {exc}"
        raise SampleError(
            f"cannot read {path}: {reason}",
            remediation="Check the path, or fix the YAML at the line and column shown.",
            detail={"file": str(path)},
        ) from exc
    if not isinstance(data, dict):
        raise SampleError(
            f"{path} must hold a mapping at the top level, not {type(data).__name__}",
            detail={"file": str(path)},
        )
    return data


def field_path(loc: tuple[int | str, ...]) -> str:
    """Render a pydantic error location as a dotted path (``contract.lines[0].billing``)."""
    text = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc)
    return text.lstrip(".") or "(top level)"


def _invalid(path: Path, exc: ValidationError) -> SampleError:
    problems = [f"{field_path(err['loc'])}: {err['msg']}" for err in exc.errors()]
    shown = "; ".join(problems[:5])
    more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
    return SampleError(
        f"{path}: {shown}{more}",
        remediation=f"Fix the field(s) named above in {path}, then run again.",
        detail={"file": str(path), "errors": problems},
    )


def _field_error(path: Path, field: str, message: str) -> SampleError:
    return SampleError(
        f"{path}: {field}: {message}",
        remediation=f"Fix {field} in {path}, then run again.",
        detail={"file": str(path), "field": field},
    )
