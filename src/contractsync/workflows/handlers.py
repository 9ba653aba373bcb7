"""The inbox handler table: which flow processes an inbound message, by (source, event type).

The table is explicit and visible (aesthetics §10.11): one entry per event a flow handles.
A handler runs *inside* the durable inbox workflow, so its body must be deterministic and
everything that touches the outside world must be a step (``steps.external_step``), each
write under its step's idempotency key (``steps.call_idempotently``). A message with no
entry is not an error: it is marked processed with the reason ``no handler`` and counted.

The contract flows (``contract_events``, ``contract_to_cash``, ``milestones``) have their
entries here; tests add theirs with ``register_handler`` through
``bootstrap.add_workflow_hook``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from contractsync.errors import ConfigError
from contractsync.ports.storage import InboxMessage
from contractsync.workflows.contract_events import on_contract_event
from contractsync.workflows.contract_to_cash import on_opportunity_won
from contractsync.workflows.milestones import on_tracker_event

ANY_EVENT_TYPE = "*"
"""An entry under ``(source, "*")`` handles every event type of the source without its own."""

INBOX_QUEUE = "inbox"
"""The queue of inbox runs whose handler names none (and of messages with no handler)."""

InboxHandler = Callable[[InboxMessage], Mapping[str, Any] | None]
"""Processes one stored message inside the inbox workflow; returns a JSON-ready summary."""


@dataclass(frozen=True, slots=True)
class HandlerRoute:
    """Where a message goes: its handler, and the queue whose limits its run obeys.

    Attributes:
        handler: The flow that processes the message.
        queue: The external system's queue (``engine.queues``) the flow mostly writes to;
            its concurrency and rate limits then bound the whole run. None: ``inbox``.
    """

    handler: InboxHandler
    queue: str | None = None

    @property
    def queue_name(self) -> str:
        """The queue the run is enqueued on."""
        return self.queue or INBOX_QUEUE


INBOX_HANDLERS: dict[tuple[str, str], HandlerRoute] = {
    # (source, event type) -> HandlerRoute, for the sources the demo configures (the source
    # name is the system name). Events of these sources not listed here are processed as
    # "no handler" and counted.
    ("salesforce", "opportunity.won"): HandlerRoute(on_opportunity_won),
    # Ironclad has no "approved" event: each approval is workflow_approval_status_changed
    # (approved or not, the fetched workflow says); completion and cancellation are decided
    # the same way; launches and updates only teach the hub which contract a workflow holds.
    ("ironclad", "workflow_approval_status_changed"): HandlerRoute(on_contract_event),
    ("ironclad", "workflow_completed"): HandlerRoute(on_contract_event),
    ("ironclad", "workflow_cancelled"): HandlerRoute(on_contract_event),
    ("ironclad", "workflow_launched"): HandlerRoute(on_contract_event),
    ("ironclad", "workflow_updated"): HandlerRoute(on_contract_event),
    ("docusign", "envelope-completed"): HandlerRoute(on_contract_event),
    ("kantata", "milestone.completed"): HandlerRoute(on_tracker_event),
    ("kantata", "time.logged"): HandlerRoute(on_tracker_event),
}


def route_for(source: str, event_type: str) -> HandlerRoute | None:
    """Return the route for a message: its exact entry, else its source's ``*`` entry."""
    return INBOX_HANDLERS.get((source, event_type)) or INBOX_HANDLERS.get((source, ANY_EVENT_TYPE))


def register_handler(
    source: str, event_type: str, handler: InboxHandler, *, queue: str | None = None
) -> None:
    """Add an entry to ``INBOX_HANDLERS``; registering the same entry again is harmless.

    Raises:
        ConfigError: when another handler or queue is already registered for the key.
    """
    route = HandlerRoute(handler, queue)
    existing = INBOX_HANDLERS.setdefault((source, event_type), route)
    if existing != route:
        raise ConfigError(
            f"another inbox handler is registered for ({source}, {event_type})",
            remediation="Keep one handler per (source, event type) in workflows/handlers.py.",
        )


def unregister_handler(source: str, event_type: str) -> None:
    """Remove an entry added with :func:`register_handler` (absent entries are ignored)."""
    INBOX_HANDLERS.pop((source, event_type), None)


def handler_queues() -> set[str]:
    """Every queue a registered route enqueues on (checked against the configured queues)."""
    return {route.queue_name for route in INBOX_HANDLERS.values()} | {INBOX_QUEUE}


__all__ = [
    "ANY_EVENT_TYPE",
    "INBOX_HANDLERS",
    "INBOX_QUEUE",
    "HandlerRoute",
    "InboxHandler",
    "handler_queues",
    "register_handler",
    "route_for",
    "unregister_handler",
]
