"""Listing what reconciliation walks: the CLM contracts, and what the ERP and PSA hold."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Protocol, TypeVar, runtime_checkable

from contractsync.domain.drift import SystemFailure
from contractsync.domain.identity import ExternalRef
from contractsync.domain.ownership import SystemRole
from contractsync.errors import ContractSyncError
from contractsync.ports.systems import ContractSource, Page, SourcedContract
from contractsync.services.reconciliation_records import failure_of

Listed = tuple[ExternalRef, SourcedContract | ContractSyncError | None]
"""A CLM ref, with the contract already fetched (or the error fetching it), if it was."""

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


def contract_refs(
    contracts: ContractSource, contract_ids: Collection[str] | None, *, page_size: int
) -> tuple[list[Listed], list[SystemFailure]]:
    """The CLM contracts to reconcile, and the failures of listing them.

    Without ``contract_ids`` every listed ref, not fetched yet. With them, the listing is
    walked and fetched until each wanted id is found (the CLM lists refs, not contract ids);
    those fetched are returned with their contract, and each id never found is a failure.
    A ref listed twice (pages shifting under a running listing) is kept once.
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
    if contract_ids is None:
        return [(ref, None) for ref in refs], failures
    wanted = set(contract_ids)
    found: dict[str, Listed] = {}
    for ref in refs:
        if not wanted - set(found):
            break
        try:
            sourced = contracts.fetch_contract(ref)
        except ContractSyncError:
            continue  # another contract may be unreadable; only the wanted ones matter here
        if sourced.contract.id in wanted:
            found[sourced.contract.id] = (ref, sourced)
    for missing in sorted(wanted - set(found)):
        message = f"contract {missing} is not among the {len(refs)} contracts the CLM lists"
        error = ContractSyncError(message, code=NOT_FOUND)
        failures.append(failure_of(contracts.system, SystemRole.CLM, missing, error))
    listed: list[Listed] = [found[cid] for cid in contract_ids if cid in found]
    return listed, failures


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
    "Listed",
    "ListsContractIds",
    "ListsProjectIds",
    "contract_refs",
    "orphan_ids",
]
