"""Which contract version reconciliation compares the ERP, PSA and CRM against (ADR 0009).

The CLM may hold one contract id in several workflows: a change order is a workflow of its
own holding the contract at a later version (ADR 0006), and the SOW's own workflow keeps the
version it was approved at. And the hub's owner may have rejected a version the CLM approved
(a routed amendment dismissed: ``amendment.rejected``), so the hub stays at the version before.
Per contract id, reconciliation compares against:

1. the highest *decided* version the CLM lists (approved, or cancelled: a draft or a change
   order still in review is not the contract yet; a cancellation wins a tie), one per id;
2. unless the hub rejected it (an ``amendment.rejected`` event naming it as ``to_version``,
   above the version the hub stores): then the highest decided CLM version not rejected,
   or the hub's own record when that is later (a CLM that amends in place only shows the
   rejected version). Each rejected version skipped is a report note, never drift.

A version the hub rejected stays rejected: its amendment run ended (ADR 0006 keys one run per
version), so only a later version, or the hub storing that version some other way, moves on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from contractsync.domain.contract import Contract, ContractStatus
from contractsync.domain.customer import Customer
from contractsync.domain.drift import DriftItem
from contractsync.domain.events import EventType
from contractsync.domain.identity import ExternalRef
from contractsync.domain.ownership import SystemRole
from contractsync.domain.project import ProjectStatus
from contractsync.ports.storage import UnitOfWork
from contractsync.ports.systems import SourcedContract
from contractsync.services.contract_flow import load_contract, load_customer, load_project

DECIDED_STATUSES = frozenset(
    {
        ContractStatus.APPROVED,
        ContractStatus.ACTIVE,
        ContractStatus.SUSPENDED,
        ContractStatus.EXPIRED,
        ContractStatus.TERMINATED,
    }
)
"""CLM statuses of a version that is the contract (a draft or one in review is not yet)."""

Version = tuple[ExternalRef, SourcedContract]
"""One CLM workflow and the contract version it holds."""

_PAGE = 100


@dataclass(frozen=True, slots=True)
class Rejection:
    """A CLM version the hub's owner rejected (from its ``amendment.rejected`` event)."""

    version: int
    at: datetime
    owner: str | None
    reason: str


@dataclass(frozen=True, slots=True)
class HubView:
    """What the hub holds for one contract: its record, its customer, the rejected versions."""

    stored: Contract | None = None
    customer: Customer | None = None
    rejections: tuple[Rejection, ...] = ()


@dataclass(frozen=True, slots=True)
class Compared:
    """The contract version reconciliation compares against, and why, as report notes."""

    sourced: SourcedContract
    notes: tuple[str, ...] = ()


def rejected_versions(uow: UnitOfWork) -> dict[str, tuple[Rejection, ...]]:
    """Every version the hub's owners rejected, by contract id (its ``amendment.rejected``).

    Read once per run: rejections are few, and the events are filtered by type only.
    """
    found: dict[str, list[Rejection]] = {}
    before: int | None = None
    while True:
        page = uow.views.events(
            before_seq=before, limit=_PAGE, event_type=EventType.AMENDMENT_REJECTED.value
        )
        for entry in page:
            event, data = entry.event, entry.event.data
            version, owner = data.get("to_version"), data.get("owner")
            if isinstance(version, int) and not isinstance(version, bool):
                found.setdefault(event.correlation_id, []).append(
                    Rejection(
                        version=version,
                        at=event.occurred_at,
                        owner=owner if isinstance(owner, str) else None,
                        reason=str(data.get("reason") or ""),
                    )
                )
        if len(page) < _PAGE:
            break
        before = page[-1].seq
    return {contract_id: tuple(found[contract_id]) for contract_id in found}


def read_hub(
    uow: UnitOfWork, contract_id: str, rejections: Mapping[str, tuple[Rejection, ...]]
) -> HubView:
    """The hub's record of ``contract_id``, its customer, and its ``rejections``."""
    stored = load_contract(uow, contract_id)
    customer = load_customer(uow, stored.customer_id) if stored is not None else None
    return HubView(stored=stored, customer=customer, rejections=rejections.get(contract_id, ()))


def ended_in_hub(uow: UnitOfWork, item: DriftItem) -> bool:
    """True when an orphan ``item`` is the record of a contract the hub terminated.

    A terminated contract's cancelled CLM workflow is usually not listed any more, while
    the ERP and the PSA keep its closed project: that is the end of the contract, not a
    record without one. An ERP contract is checked against the hub's contract record, a
    PSA project against the hub's project record (closed) and its contract.
    """
    if item.role is SystemRole.PSA:
        project = load_project(uow, item.contract_id)
        if project is None:
            return False
        if project.status is ProjectStatus.CLOSED:
            return True
        contract_id = project.contract_id
    else:
        contract_id = item.contract_id
    stored = load_contract(uow, contract_id)
    return stored is not None and stored.status is ContractStatus.TERMINATED


def compared_version(contract_id: str, versions: Sequence[Version], hub: HubView) -> Compared:
    """The version of ``contract_id`` to compare against (module doc), with its notes.

    Args:
        contract_id: The canonical contract id every one of ``versions`` holds.
        versions: Every workflow the CLM lists for it, with its version (at least one).
        hub: What the hub holds for it (``read_hub``).
    """
    if not versions:
        raise ValueError(f"no CLM version of contract {contract_id} to compare against")
    decided = [v for v in versions if v[1].contract.status in DECIDED_STATUSES] or list(versions)
    latest = _latest(decided)
    floor = hub.stored.version if hub.stored is not None else 0
    rejected = {
        r.version: r for r in sorted(hub.rejections, key=lambda r: r.at) if r.version > floor
    }
    kept = [v for v in decided if v[1].contract.version not in rejected]
    best = _latest(kept) if kept else None
    if best is not None and best[1].contract.version >= latest[1].contract.version:
        return Compared(sourced=best[1])
    stored = hub.stored
    if stored is not None and (best is None or stored.version > best[1].contract.version):
        sourced = SourcedContract(contract=stored, customer=_customer(stored, latest, hub))
        against = f"the hub's v{stored.version}"
    elif best is not None:
        sourced, against = best[1], f"v{best[1].contract.version}"
    else:  # rejected with nothing stored cannot happen: a plan needs the stored version
        return Compared(sourced=latest[1])
    listed = {v[1].contract.version for v in decided}
    notes = tuple(
        _note(contract_id, rejected[version], against)
        for version in sorted(listed & rejected.keys())
        if version > sourced.contract.version
    )
    return Compared(sourced=sourced, notes=notes)


def _latest(versions: Sequence[Version]) -> Version:
    """The highest version; at the same version a cancelled workflow wins."""
    return max(
        versions,
        key=lambda v: (v[1].contract.version, v[1].contract.status is ContractStatus.TERMINATED),
    )


def _customer(stored: Contract, latest: Version, hub: HubView) -> Customer:
    if latest[1].customer.id == stored.customer_id or hub.customer is None:
        return latest[1].customer
    return hub.customer


def _note(contract_id: str, rejection: Rejection, against: str) -> str:
    by = f" by {rejection.owner}" if rejection.owner else ""
    why = f" ({rejection.reason})" if rejection.reason else ""
    return (
        f"{contract_id}: CLM v{rejection.version} was rejected{by} on "
        f"{rejection.at.date().isoformat()}{why}; compared against {against}"
    )


__all__ = [
    "DECIDED_STATUSES",
    "Compared",
    "HubView",
    "Rejection",
    "Version",
    "compared_version",
    "ended_in_hub",
    "read_hub",
    "rejected_versions",
]
