"""Messaging ports: how business events leave the outbox and reach the code that reacts to them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from contractsync.domain.events import BusinessEvent, EventType
from contractsync.errors import ContractSyncError

EventHandler = Callable[[BusinessEvent], None]
"""Reacts to one event. Must be idempotent per event id: every bus delivers at least once.

A handler signals failure by raising; the bus then delivers the event to it again later.
"""

ANY_EVENT: Literal["*"] = "*"
"""Subscribe to every event type."""


class EventPublisher(Protocol):
    """Hands business events to the bus (in-process or NATS JetStream).

    Contract:
        * ``publish`` returns only once the bus has durably taken the event (JetStream
          PubAck) or every in-process handler has run it.
        * Idempotent per event id: publishing an event again (the outbox relay does so after
          a crash between publish and mark) is recognised as a duplicate and not delivered
          twice to a subscriber that already has it.
        * Events published one after another reach each subscriber in that order.
    """

    def publish(self, event: BusinessEvent) -> None:
        """Publish one event.

        Args:
            event: The event; its ``id`` is the deduplication key.

        Raises:
            TransientError: The bus could not take the event now (retry later, same event).
            HandlerFailedError: The bus took the event but some subscribers failed on it;
                publishing it again retries only those.
        """
        ...


class EventSubscriber(Protocol):
    """Registers handlers for event types on a bus."""

    def subscribe(
        self,
        event_type: EventType | Literal["*"],
        handler: EventHandler,
        *,
        name: str | None = None,
    ) -> None:
        """Call ``handler`` for every event of ``event_type`` (``"*"`` for every type).

        Args:
            event_type: The type to receive, or ``ANY_EVENT``.
            handler: The callable; it runs once per event id unless it raised.
            name: Stable handler name used in failure reports and the dedupe memory;
                defaults to the handler's qualified name. Two handlers may not share one.

        Raises:
            ValueError: ``name`` is already subscribed.
        """
        ...


@dataclass(frozen=True, slots=True)
class HandlerFailure:
    """One subscriber that failed on one event.

    Attributes:
        handler: The handler's name.
        error_type: The exception class name.
        message: The exception text (handlers must not put secrets in it).
    """

    handler: str
    error_type: str
    message: str


class HandlerFailedError(ContractSyncError):
    """Some subscribers failed on an event; the others received it.

    Args:
        event_id: The event that failed.
        failures: One entry per failed handler, in subscription order.
    """

    default_code = "events.handler_failed"
    default_remediation = (
        "Fix the failing handler named in the detail; the relay delivers the event to it again."
    )

    def __init__(self, event_id: str, failures: Sequence[HandlerFailure]) -> None:
        names = ", ".join(f.handler for f in failures)
        super().__init__(
            f"event {event_id}: {len(failures)} handler(s) failed: {names}",
            detail={
                "event_id": event_id,
                "failures": [
                    {"handler": f.handler, "error_type": f.error_type, "message": f.message}
                    for f in failures
                ],
            },
        )
        self.event_id = event_id
        self.failures = tuple(failures)


__all__ = [
    "ANY_EVENT",
    "EventHandler",
    "EventPublisher",
    "EventSubscriber",
    "HandlerFailedError",
    "HandlerFailure",
]
