"""What an inbound message asks the contract flows to do, in vendor-free terms.

A vendor's webhook body is read at the adapter edge (``adapters/ingress/triggers.py``) into
one of these triggers; the flows only ever see triggers. Every trigger names records by
``ExternalRef`` and is thin on purpose: the flow fetches the current state before acting,
because events are duplicated, reordered and may describe a state that has moved on.
"""

from __future__ import annotations

import json
from typing import Annotated, Literal, Protocol

from pydantic import Field, TypeAdapter, ValidationError

from contractsync.domain.base import ValueObject
from contractsync.domain.identity import ExternalRef
from contractsync.errors import DataError
from contractsync.ports.storage import InboxMessage
from contractsync.ports.systems import TrackerEvent


class OpportunityWonTrigger(ValueObject):
    """A CRM opportunity reached closed-won: stage its customer and project."""

    kind: Literal["opportunity_won"] = "opportunity_won"
    opportunity: ExternalRef


class ContractDecidedTrigger(ValueObject):
    """The CLM decided on a contract (an approval granted, completed, cancelled): route it.

    Whether every approver has approved, or whether it is a new version, is only known from
    the fetched contract.
    """

    kind: Literal["contract_decided"] = "contract_decided"
    contract: ExternalRef


class ContractSeenTrigger(ValueObject):
    """The CLM holds a contract (launched or updated): remember its ref, change nothing."""

    kind: Literal["contract_seen"] = "contract_seen"
    contract: ExternalRef


class ContractSignedTrigger(ValueObject):
    """The e-signature service says a signing request is complete."""

    kind: Literal["contract_signed"] = "contract_signed"
    signature: ExternalRef
    contract_id: str | None = Field(default=None, description="When the event names it.")


class TrackerTrigger(ValueObject):
    """One fact from the PSA feed (milestone completed, time logged ...)."""

    kind: Literal["tracker_event"] = "tracker_event"
    event: TrackerEvent


class IgnoredTrigger(ValueObject):
    """A message the flows have nothing to do for, with the reason recorded on it."""

    kind: Literal["ignored"] = "ignored"
    reason: str


FlowTrigger = Annotated[
    OpportunityWonTrigger
    | ContractDecidedTrigger
    | ContractSeenTrigger
    | ContractSignedTrigger
    | TrackerTrigger
    | IgnoredTrigger,
    Field(discriminator="kind"),
]
"""Every trigger a flow handler can be given."""


class TriggerReader(Protocol):
    """Reads one stored inbound message of a source into a trigger (pure, no I/O).

    Raises:
        DataError: the body cannot be read (names the field); the message then fails
            into an ExceptionItem like any handler error.
    """

    def __call__(self, message: InboxMessage, /) -> FlowTrigger:
        """Return the trigger ``message`` stands for."""
        ...


_TRACKER_EVENT = TypeAdapter(TrackerEvent)


def read_tracker_message(message: InboxMessage) -> FlowTrigger:
    """Read a polled PSA message, stored as canonical ``TrackerEvent`` JSON by the poller.

    Raises:
        DataError: ``tracker.event_invalid`` when the body is not a TrackerEvent.
    """
    try:
        event = _TRACKER_EVENT.validate_python(json.loads(message.body))
    except (ValueError, ValidationError) as error:
        raise DataError(
            f"the {message.source} feed event {message.event_id} is not a tracker event",
            code="tracker.event_invalid",
            remediation="The poller stores TrackerEvent JSON; check the poller of this source.",
            detail={"source": message.source, "event_id": message.event_id},
        ) from error
    return TrackerTrigger(event=event)


__all__ = [
    "ContractDecidedTrigger",
    "ContractSeenTrigger",
    "ContractSignedTrigger",
    "FlowTrigger",
    "IgnoredTrigger",
    "OpportunityWonTrigger",
    "TrackerTrigger",
    "TriggerReader",
    "read_tracker_message",
]
