"""Running a reconciliation over the ports: read every system per contract, heal, raise, report."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from contractsync.domain.customer import LegalEntity
from contractsync.domain.drift import (
    ContractReconciliation,
    ReconciliationReport,
    SystemFailure,
)
from contractsync.domain.identity import ExternalRef
from contractsync.domain.ownership import DEFAULT_OWNERSHIP, OwnershipMap, SystemRole
from contractsync.domain.snapshot import FinancialSnapshot
from contractsync.errors import ContractSyncError
from contractsync.ports.clock import Clock
from contractsync.ports.storage import UnitOfWork
from contractsync.ports.systems import (
    ContractSource,
    CustomerDirectory,
    FinancialSystem,
    ProjectPlan,
    ProjectTracker,
    SourcedContract,
)
from contractsync.services.policy import Policy
from contractsync.services.reconciliation import compare_contract, find_orphans, project_id_for
from contractsync.services.reconciliation_healing import ExceptionSpec, decide_healing
from contractsync.services.reconciliation_records import (
    failure_of,
    is_transient,
    record_contract,
)
from contractsync.services.reconciliation_repush import Targets, settle_drift
from contractsync.services.reconciliation_sources import (
    ClmContract,
    Listed,
    clm_contracts,
    orphan_ids,
)
from contractsync.services.reconciliation_versions import (
    Rejection,
    compared_version,
    ended_in_hub,
    read_hub,
    rejected_versions,
)

ABSENT_CODES = frozenset({"remote.not_found"})
"""Error codes that mean "the system does not hold this record" rather than a failure.

Adapters that report a missing contract with their own code add it through
``reconcile(absent_codes=...)`` (bootstrap knows them; services never name a vendor).
"""

T = TypeVar("T")

ProgressHook = Callable[[int, int, str], None]
"""Called after each contract with (done, total, contract id)."""


@dataclass(frozen=True, slots=True)
class _Run:
    contracts: ContractSource
    erp: FinancialSystem
    psa: ProjectTracker | None
    crm: CustomerDirectory | None
    uow_factory: Callable[[], UnitOfWork]
    clock: Clock
    policy: Policy
    heal: bool
    ownership: OwnershipMap
    absent_codes: frozenset[str]
    project_id_of: Callable[[str], str]
    systems: dict[SystemRole, str]
    targets: Targets


@dataclass
class _Observed:
    """What each system holds for one contract; a role that failed is left out of ``systems``."""

    systems: dict[SystemRole, str]
    erp: FinancialSnapshot | None = None
    psa: ProjectPlan | None = None
    crm: ExternalRef | None = None
    failures: list[tuple[SystemRole, ContractSyncError]] = field(default_factory=list)


def reconcile(
    *,
    contracts: ContractSource,
    erp: FinancialSystem,
    psa: ProjectTracker | None,
    crm: CustomerDirectory | None,
    uow_factory: Callable[[], UnitOfWork],
    clock: Clock,
    policy: Policy,
    contract_ids: Collection[str] | None = None,
    on_progress: ProgressHook | None = None,
    heal: bool = True,
    legal_entities: Mapping[str, LegalEntity] | None = None,
    ownership: OwnershipMap = DEFAULT_OWNERSHIP,
    absent_codes: Collection[str] = ABSENT_CODES,
    project_id_of: Callable[[str], str] = project_id_for,
    page_size: int = 100,
) -> ReconciliationReport:
    """Compare every CLM contract (or those in ``contract_ids``) with the ERP, PSA and CRM.

    Every workflow the CLM lists is read and grouped by contract id; per contract, the
    version compared is the latest one the CLM decided that the hub did not reject
    (``compared_version``, ADR 0009: a change order's later version wins whatever the
    listing order; a version the hub's owner rejected is a report note, not drift). Then:
    read the ERP snapshot, the PSA plan and the CRM account, classify the drift (``compare_contract``), decide per item with ``policy``
    (``decide_healing``), re-push the contract where it heals (idempotent upserts; the ERP
    gets ``push_contract`` with a schedule built for the contract's legal entity, the PSA
    ``upsert_project``), read the system again to verify, then in one unit of work raise an
    ExceptionItem per routed or unverified item (deduplicated, so repeated runs do not pile
    up), resolve the run's earlier items whose drift is gone, audit the re-pushes and add
    one ``reconciliation.drift_found`` event for a contract with drift (its id is derived
    from the drift, so the same drift found again is the same event). With ``heal=False``
    nothing is written to any system and healable items are only reported.

    A system failing for one contract becomes a report line (and an ExceptionItem unless it
    is transient) and the run goes on. A full run (no ``contract_ids``) also reports orphans
    when the ERP or PSA can list what it holds (``list_contract_ids``/``list_project_ids``),
    except the records of a contract the hub terminated (a cancelled CLM workflow is often
    not listed any more; its closed projects stay in the ERP and PSA).

    Raises:
        ConfigError: the policy fails on a drift item's facts.
        ContractSyncError: the hub's own database fails (then nothing of that contract is
            recorded; its re-pushes are idempotent and the next run settles them).
    """
    systems = _systems(contracts, erp, psa, crm)
    targets = Targets(erp, psa, dict(legal_entities or {}), project_id_of, systems, ownership)
    run = _Run(
        contracts=contracts,
        erp=erp,
        psa=psa,
        crm=crm,
        uow_factory=uow_factory,
        clock=clock,
        policy=policy,
        heal=heal,
        ownership=ownership,
        absent_codes=frozenset(absent_codes),
        project_id_of=project_id_of,
        systems=systems,
        targets=targets,
    )
    started = clock.now()
    found, failures = clm_contracts(contracts, contract_ids, page_size=page_size)
    with uow_factory() as uow:
        rejections = rejected_versions(uow)
    results: list[ContractReconciliation] = []
    seen: list[str] = []
    for index, listed in enumerate(found):
        result = _reconcile_one(run, listed, rejections)
        results.append(result)
        seen.append(result.contract_id)
        if on_progress is not None:
            on_progress(index + 1, len(found), result.contract_id)
    # An unread CLM contract would make its ERP and PSA records look like orphans.
    unread = failures or [f for r in results for f in r.failures if f.role is SystemRole.CLM]
    if contract_ids is None and not unread:
        results += _orphans(run, seen)
    recorded = [_record_global(run, failure) for failure in failures]
    return ReconciliationReport(
        started_at=started,
        finished_at=clock.now(),
        systems=run.systems,
        healing=heal,
        contracts=tuple(results),
        failures=tuple(recorded),
    )


def _systems(
    contracts: ContractSource,
    erp: FinancialSystem,
    psa: ProjectTracker | None,
    crm: CustomerDirectory | None,
) -> dict[SystemRole, str]:
    named = {SystemRole.CLM: contracts.system, SystemRole.ERP: erp.system}
    if psa is not None:
        named[SystemRole.PSA] = psa.system
    if crm is not None:
        named[SystemRole.CRM] = crm.system
    return named


def _reconcile_one(
    run: _Run, listed: Listed, rejections: Mapping[str, tuple[Rejection, ...]]
) -> ContractReconciliation:
    if not isinstance(listed, ClmContract):
        ref, error = listed
        failure = failure_of(run.systems[SystemRole.CLM], SystemRole.CLM, None, error)
        with run.uow_factory() as uow:
            recorded = record_contract(uow, run.clock, ref.id, [], [], [failure], compared={})
            uow.commit()
        return recorded
    with run.uow_factory() as uow:
        hub = read_hub(uow, listed.contract_id, rejections)
    compared = compared_version(listed.contract_id, listed.versions, hub)
    sourced = compared.sourced
    observed = _observe(run, sourced)
    items = compare_contract(
        sourced,
        erp=observed.erp,
        psa=observed.psa,
        crm=observed.crm,
        systems=observed.systems,
        ownership=run.ownership,
    )
    lines, specs = settle_drift(
        items,
        sourced=sourced,
        plan=observed.psa,
        policy=run.policy,
        targets=run.targets,
        heal=run.heal,
    )
    failures = [
        failure_of(run.systems[role], role, sourced.contract.id, error)
        for role, error in observed.failures
    ]
    with run.uow_factory() as uow:
        recorded = record_contract(
            uow,
            run.clock,
            sourced.contract.id,
            lines,
            specs,
            failures,
            compared=observed.systems,
            items=items,
            notes=compared.notes,
        )
        uow.commit()
    return recorded


def _observe(run: _Run, sourced: SourcedContract) -> _Observed:
    """Read each system's state of the contract; a system that fails is left uncompared."""
    contract_id, observed = sourced.contract.id, _Observed(systems={})
    observed.erp = _read(run, observed, SystemRole.ERP, lambda: run.erp.snapshot(contract_id))
    if run.psa is not None:
        psa, project_id = run.psa, run.project_id_of(contract_id)
        observed.psa = _read(run, observed, SystemRole.PSA, lambda: psa.project_plan(project_id))
    if run.crm is not None:
        crm, customer_id = run.crm, sourced.customer.id
        observed.crm = _read(run, observed, SystemRole.CRM, lambda: crm.find_account(customer_id))
    return observed


def _read(
    run: _Run, observed: _Observed, role: SystemRole, read: Callable[[], T | None]
) -> T | None:
    try:
        value = read()
    except ContractSyncError as error:
        if error.code not in run.absent_codes:
            observed.failures.append((role, error))
            return None
        value = None  # the system answered that it does not hold the record
    observed.systems[role] = run.systems[role]
    return value


def _orphans(run: _Run, clm_ids: list[str]) -> list[ContractReconciliation]:
    erp_ids, psa_ids, failures = orphan_ids(run.erp, run.psa, run.systems)
    found = find_orphans(
        erp_ids, psa_ids, clm_ids, systems=run.systems, project_id_of=run.project_id_of
    )
    with run.uow_factory() as uow:
        items = [item for item in found if not ended_in_hub(uow, item)]
    results = []
    for item in items:
        specs = [d for d in decide_healing([item], run.policy) if isinstance(d, ExceptionSpec)]
        with run.uow_factory() as uow:
            compared = {item.role: item.system}
            results.append(
                record_contract(
                    uow, run.clock, item.contract_id, [], specs, [], compared=compared, items=[item]
                )
            )
            uow.commit()
    return results + [
        ContractReconciliation(contract_id=f"({failure.system})", failures=(failure,))
        for failure in failures
    ]


def _record_global(run: _Run, failure: SystemFailure) -> SystemFailure:
    if is_transient(failure):
        return failure
    with run.uow_factory() as uow:
        recorded = record_contract(uow, run.clock, None, [], [], [failure], compared={})
        uow.commit()
    return recorded.failures[0]


__all__ = ["ABSENT_CODES", "ProgressHook", "reconcile"]
