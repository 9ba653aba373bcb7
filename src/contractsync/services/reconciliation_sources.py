"""Listing what reconciliation walks: the CLM contracts by id, and what the ERP and PSA hold."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Protocol, TypeVar, runtime_checkable

from contractsync.domain.drift import SystemFailure
from contractsync.domain.identity import ExternalRef
from contractsync.domain.ownership import SystemRole
from contractsync.errors import ContractSyncError
from contractsync.ports.systems import ContractSource, Page
from contractsync.services.reconciliation_records import failure_of
from contractsync.services.reconciliation_versions import Version


@dataclass(frozen=True, slots=True)
class ClmContract:
    """One contract id the CLM lists, with every workflow holding it and its version there.

    Usually one; a contract amended by change orders has one per change order (ADR 0006).
    """

    contract_id: str
    versions: tuple[Version, ...]


Unreadable = tuple[ExternalRef, ContractSyncError]
"""A workflow the CLM lists that could not be read (so its contract id is unknown)."""

Listed = ClmContract | Unreadable
"""What reconciliation walks: a contract with its CLM versions, or a workflow unread."""

NOT_FOUND = "reconciliation.contract_not_found"
"""Failure code of a ``--contract`` id the CLM listing does not hold."""

T = TypeVar("T")
_MAX_PAGES = 100_000  # a listing that never ends is a broken cursor, not a big CLM


@runtime_checkable
class ListsContractIds(Protocol):
    """An ERP that can list the canonical ids of every contract it holds (for orphans)."""

    def list_contract_ids(self, *, cursor: str | None, limit: int) -> Page[str]:
        """Every contract id the system holds; pages until ``next_cursor`` is None."""
        ...


@runtime_checkable
class ListsProjectIds(Protocol):
    """A PSA that can list the canonical ids of every project it holds (for orphans)."""

    def list_project_ids(self, *, cursor: str | None, limit: int) -> Page[str]:
        """Every project id the system holds; pages until ``next_cursor`` is None."""
        ...


def clm_contracts(
    contracts: ContractSource, contract_ids: Collection[str] | None, *, page_size: int
) -> tuple[list[Listed], list[SystemFailure]]:
    """The CLM contracts to reconcile, grouped by contract id, and the failures of listing them.

    The CLM lists workflows, not contract ids, and one contract may be held by several (a
    change order is a workflow of its own), so every listed workflow is read and grouped by
    the contract id it holds, in listing order (which version to compare is the caller's:
    ``reconciliation_versions.compared_version``). A ref listed twice (pages shifting under
    a running listing) is read once. Without ``contract_ids`` a workflow that cannot be read
    is returned as it is (the run reports it); with them only the wanted contracts are
    returned, in that order, and each id no workflow holds is a failure.
    """
    refs: list[ExternalRef] = []
    seen: set[ExternalRef] = set()
    failures: list[SystemFailure] = []
    for page in _pages(lambda c: contracts.list_contracts(cursor=c, limit=page_size)):
        if isinstance(page, ContractSyncError):
            failures.append(failure_of(contracts.system, SystemRole.CLM, None, page))
            break
        fresh = [ref for ref in page.items if ref not in seen]
        seen.update(fresh)
        refs += fresh
    grouped: dict[str, list[Version]] = {}
    listed: list[Listed | str] = []
    for ref in refs:
        try:
            sourced = contracts.fetch_contract(ref)
        except ContractSyncError as unread:
            listed.append((ref, unread))
            continue
        contract_id = sourced.contract.id
        if contract_id not in grouped:
            grouped[contract_id] = []
            listed.append(contract_id)
        grouped[contract_id].append((ref, sourced))
    found = {cid: ClmContract(cid, tuple(versions)) for cid, versions in grouped.items()}
    if contract_ids is None:
        return [found[entry] if isinstance(entry, str) else entry for entry in listed], failures
    for missing in sorted(set(contract_ids) - set(found)):
        message = f"contract {missing} is not among the {len(refs)} contracts the CLM lists"
        error = ContractSyncError(message, code=NOT_FOUND)
        failures.append(failure_of(contracts.system, SystemRole.CLM, missing, error))
    wanted: list[Listed] = [found[cid] for cid in dict.fromkeys(contract_ids) if cid in found]
    return wanted, failures


def orphan_ids(
    erp: object, psa: object | None, systems: Mapping[SystemRole, str]
) -> tuple[list[str], list[str], list[SystemFailure]]:
    """Every contract id the ERP lists and project id the PSA lists, where they can list.

    A system without the listing contributes nothing (its orphans cannot be found); one
    whose listing fails contributes nothing and a failure.
    """
    found: dict[SystemRole, list[str]] = {SystemRole.ERP: [], SystemRole.PSA: []}
    failures: list[SystemFailure] = []
    listings: list[tuple[SystemRole, Callable[[str | None], Page[str]]]] = []
    if isinstance(erp, ListsContractIds):
        listings.append((SystemRole.ERP, lambda c: erp.list_contract_ids(cursor=c, limit=500)))
    if psa is not None and isinstance(psa, ListsProjectIds):
        listings.append((SystemRole.PSA, lambda c: psa.list_project_ids(cursor=c, limit=500)))
    for role, listing in listings:
        ids: list[str] = []
        for page in _pages(listing):
            if isinstance(page, ContractSyncError):
                failures.append(failure_of(systems[role], role, None, page))
                ids = []
                break
            ids += page.items
        found[role] = ids
    return found[SystemRole.ERP], found[SystemRole.PSA], failures


def _pages(
    listing: Callable[[str | None], Page[T]],
) -> list[Page[T] | ContractSyncError]:
    pages: list[Page[T] | ContractSyncError] = []
    cursor: str | None = None
    for _ in range(_MAX_PAGES):
        try:
            page = listing(cursor)
        except ContractSyncError as error:
            return [*pages, error]
        pages.append(page)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    return pages


__all__ = [
    "NOT_FOUND",
    "ClmContract",
    "Listed",
    "ListsContractIds",
    "ListsProjectIds",
    "Unreadable",
    "clm_contracts",
    "orphan_ids",
]
