"""Inbound vendor messages read into the contract flows' triggers (the vendor edge of the flows).

One reader per vendor, built for a configured system name (which is also the source name
and the ``system`` of every ref the reader makes):

==========  ===================================================  ============================
vendor      event                                                 trigger
==========  ===================================================  ============================
salesforce  ``opportunity.won``                                   OpportunityWonTrigger
ironclad    approval ``approved``, ``workflow_completed``,        ContractDecidedTrigger
            ``workflow_cancelled``
ironclad    ``workflow_launched``, ``workflow_updated``,          ContractSeenTrigger
            ``workflow_attribute_updated``
ironclad    an approval that is not ``approved``                  IgnoredTrigger
docusign    ``envelope-completed``                                ContractSignedTrigger
docusign    any other envelope event                              IgnoredTrigger
kantata     polled ``TrackerEvent`` JSON                          TrackerTrigger
==========  ===================================================  ============================
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from contractsync.adapters.docusign import webhooks as docusign
from contractsync.adapters.ironclad import webhooks as ironclad
from contractsync.adapters.salesforce import webhooks as salesforce
from contractsync.errors import ConfigError
from contractsync.ports.storage import InboxMessage
from contractsync.services.flow_triggers import (
    ContractDecidedTrigger,
    ContractSeenTrigger,
    ContractSignedTrigger,
    FlowTrigger,
    IgnoredTrigger,
    OpportunityWonTrigger,
    TriggerReader,
    read_tracker_message,
)

_DECIDING = frozenset({ironclad.COMPLETED, ironclad.CANCELLED})


def read_ironclad(message: InboxMessage, *, system: str) -> FlowTrigger:
    """Read an Ironclad workflow event (see the module table).

    Raises:
        DataError: as ``adapters.ironclad.webhooks.read_event_body``.
    """
    event = ironclad.read_event_body(message.body, event_id=message.event_id, system=system)
    if event.may_approve_contract or event.event in _DECIDING:
        return ContractDecidedTrigger(contract=event.workflow)
    if event.event == ironclad.APPROVAL_CHANGED:
        return IgnoredTrigger(reason=f"approval {event.approval_status or 'changed'}, not approved")
    return ContractSeenTrigger(contract=event.workflow)


def read_docusign(message: InboxMessage, *, system: str, contract_field: str) -> FlowTrigger:
    """Read a DocuSign Connect envelope event (see the module table).

    Raises:
        DataError: as ``adapters.docusign.webhooks.read_event_body``.
    """
    event = docusign.read_event_body(
        message.body, event_id=message.event_id, system=system, contract_field=contract_field
    )
    if not event.is_completed:
        return IgnoredTrigger(reason=f"envelope event {event.event}")
    return ContractSignedTrigger(signature=event.envelope, contract_id=event.contract_id)


def read_salesforce(message: InboxMessage, *, system: str) -> FlowTrigger:
    """Read a Salesforce closed-won event.

    Raises:
        DataError: as ``adapters.salesforce.webhooks.read_event_body``.
    """
    event = salesforce.read_event_body(message.body, system=system)
    return OpportunityWonTrigger(opportunity=event.opportunity)


def reader_for(vendor: str, system: str, *, contract_field: str = "contractId") -> TriggerReader:
    """The trigger reader of a vendor's messages, for the system named ``system``.

    Raises:
        ConfigError: the vendor sends nothing the flows read (an ERP).
    """
    readers: dict[str, Callable[[InboxMessage], FlowTrigger]] = {
        "ironclad": partial(read_ironclad, system=system),
        "docusign": partial(read_docusign, system=system, contract_field=contract_field),
        "salesforce": partial(read_salesforce, system=system),
        "kantata": read_tracker_message,
    }
    reader = readers.get(vendor)
    if reader is None:
        raise ConfigError(
            f"the flows read no messages from {vendor} systems",
            code="config.flow_reader_missing",
            remediation="Configure an ingress source only for CLM, e-signature, CRM and PSA "
            "systems.",
        )
    return reader


__all__ = ["read_docusign", "read_ironclad", "read_salesforce", "reader_for"]
