"""CLM and e-signature events routed to the contract flows, by the version the CLM holds now.

``on_contract_event`` is the inbox handler of both: it fetches the contract (a completed
signing request names the contract; its CLM ref is the one the hub saw the CLM announce),
remembers the CLM ref, and starts the run the fetched version needs
(``services.contract_flow.route_version``):

=================  ===============================================================
route              run started (one per business key: duplicates start nothing)
=================  ===============================================================
ACTIVATE           ``contract_to_cash:<contract>``
AMEND              ``amendment_rollout:<contract>:v<n>`` (waits for version n - 1)
TERMINATE          ``contract_termination:<contract>``
NOT_APPROVED,      nothing; the message is processed with the reason
DUPLICATE
=================  ===============================================================
"""

from __future__ import annotations

from typing import Any

from contractsync.domain.identity import ExternalRef
from contractsync.errors import ConfigError, DataError
from contractsync.ports.storage import InboxMessage
from contractsync.ports.systems import SignatureRequest, SourcedContract
from contractsync.services import contract_flow
from contractsync.services.contract_flow import VersionRoute
from contractsync.services.flow_triggers import (
    ContractDecidedTrigger,
    ContractSeenTrigger,
    ContractSignedTrigger,
)
from contractsync.workflows.amendment_rollout import amend_contract, stored_contract
from contractsync.workflows.contract_to_cash import activate_contract, fetch_contract
from contractsync.workflows.flow_context import (
    amendment_key,
    flow_context,
    hub_step,
    read_trigger,
    start_child,
)
from contractsync.workflows.lifecycle import terminate_contract
from contractsync.workflows.steps import external_step


@external_step("esign.fetch_signature")
def fetch_signature(ref: ExternalRef) -> SignatureRequest:
    """Read the signing request and the contract it carries.

    Raises:
        ConfigError: no e-signature service is configured.
    """
    esign = flow_context().systems.esign
    if esign is None:
        raise ConfigError("no e-signature service is configured", code="config.esign_missing")
    return esign.fetch_signature(ref)


@hub_step("hub.clm_ref_of")
def clm_ref_of(contract_id: str) -> ExternalRef | None:
    """The CLM ref of a contract, as the CLM announced it to the hub."""
    context = flow_context()
    with context.uow_factory() as uow:
        return contract_flow.contract_ref_in(uow, contract_id, context.systems.clm.system)


@hub_step("hub.link_contract_ref")
def link_contract_ref(ref: ExternalRef, contract_id: str) -> None:
    """Remember which contract a CLM record holds (its first CLM record stays its ref)."""
    with flow_context().uow_factory() as uow:
        contract_flow.link_refs(
            uow, [ref], record_kind=contract_flow.CONTRACT, record_id=contract_id, keep_first=True
        )
        uow.commit()


def _signed_contract(trigger: ContractSignedTrigger) -> tuple[ExternalRef, SourcedContract] | None:
    request = fetch_signature(trigger.signature)
    if request.status != "completed":
        return None
    ref = clm_ref_of(request.contract_id)
    if ref is None:
        raise DataError(
            f"contract {request.contract_id} was signed, but the CLM never announced it",
            code="signature.contract_unknown",
            remediation="Check the CLM holds the contract (its webhook subscription), then "
            "replay this message.",
            detail={"contract_id": request.contract_id, "envelope": trigger.signature.id},
        )
    sourced = contract_flow.as_signed(fetch_contract(ref), signed_at=request.completed_at)
    return ref, sourced


def route_contract(sourced: SourcedContract, clm_ref: ExternalRef | None) -> dict[str, Any]:
    """Start the run the fetched version needs (module table); return what was done."""
    contract = sourced.contract
    route = contract_flow.route_version(contract, stored_contract(contract.id))
    run = None
    if route is VersionRoute.ACTIVATE:
        run = start_child(activate_contract, contract.id, sourced, clm_ref)
    elif route is VersionRoute.AMEND:
        key = amendment_key(contract.id, contract.version)
        run = start_child(amend_contract, key, sourced, clm_ref)
    elif route is VersionRoute.TERMINATE:
        run = start_child(terminate_contract, contract.id, contract.id, "terminated in the CLM")
    return {
        "outcome": route.value,
        "contract_id": contract.id,
        "version": contract.version,
        "run": run,
    }


def on_contract_event(message: InboxMessage) -> dict[str, Any]:
    """Inbox handler for CLM and e-signature events; see the module docstring."""
    trigger = read_trigger(message)
    if isinstance(trigger, ContractSeenTrigger):
        seen = fetch_contract(trigger.contract)
        link_contract_ref(trigger.contract, seen.contract.id)
        return {"outcome": "seen", "contract_id": seen.contract.id}
    if isinstance(trigger, ContractDecidedTrigger):
        ref, sourced = trigger.contract, fetch_contract(trigger.contract)
    elif isinstance(trigger, ContractSignedTrigger):
        signed = _signed_contract(trigger)
        if signed is None:
            return {"outcome": "ignored", "reason": "the signing request is not complete"}
        ref, sourced = signed
    else:
        return {"outcome": "ignored", "reason": getattr(trigger, "reason", trigger.kind)}
    link_contract_ref(ref, sourced.contract.id)
    return route_contract(sourced, ref)


__all__ = ["on_contract_event", "route_contract"]
