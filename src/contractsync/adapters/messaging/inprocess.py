"""The embedded event bus: handlers in this process, called synchronously by the outbox relay."""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Literal

from contractsync.domain.events import BusinessEvent, EventType
from contractsync.ports.messaging import (
    ANY_EVENT,
    EventHandler,
    HandlerFailedError,
    HandlerFailure,
)

DEFAULT_MEMORY = 100_000
"""Event ids remembered per handler; far above what a relay re-publishes after a crash."""


@dataclass(frozen=True, slots=True)
class _Subscription:
    name: str
    event_type: EventType | Literal["*"]
    handler: EventHandler


class InProcessBus:
    """An EventPublisher and EventSubscriber that calls handlers in the publishing thread.

    * Handlers run in subscription order; one that raises does not stop the others, and
      ``publish`` then raises :class:`HandlerFailedError` naming every failure so the relay
      records it (nothing is silently logged).
    * Each handler receives an event id at most once while it is remembered: a handler that
      succeeded is skipped when the event is published again, a handler that failed is called
      again. The memory is bounded (oldest ids forgotten first) and lives only as long as the
      process, so handlers must still be idempotent across restarts (inbox pattern).
    * Thread-safe: publishes are serialised, which also keeps per-handler order.

    Args:
        memory: How many event ids to remember per handler.
    """

    def __init__(self, *, memory: int = DEFAULT_MEMORY) -> None:
        if memory < 1:
            raise ValueError("memory must be at least 1")
        self._memory = memory
        self._subscriptions: list[_Subscription] = []
        self._delivered: dict[str, OrderedDict[str, None]] = {}
        self._lock = threading.RLock()

    def subscribe(
        self,
        event_type: EventType | Literal["*"],
        handler: EventHandler,
        *,
        name: str | None = None,
    ) -> None:
        """Register ``handler`` for ``event_type`` (``"*"`` for all); see EventSubscriber.

        Raises:
            ValueError: A handler with this name is already subscribed.
        """
        handler_name: str = name or getattr(handler, "__qualname__", None) or repr(handler)
        with self._lock:
            if handler_name in self._delivered:
                raise ValueError(f"a handler named {handler_name!r} is already subscribed")
            self._subscriptions.append(_Subscription(handler_name, event_type, handler))
            self._delivered[handler_name] = OrderedDict()

    def publish(self, event: BusinessEvent) -> None:
        """Deliver ``event`` to every matching handler that does not have it yet.

        Raises:
            HandlerFailedError: One or more handlers raised; the others got the event.
        """
        failures: list[HandlerFailure] = []
        with self._lock:
            for subscription in self._subscriptions:
                if subscription.event_type not in (ANY_EVENT, event.type):
                    continue
                seen = self._delivered[subscription.name]
                if event.id in seen:
                    continue
                try:
                    subscription.handler(event)
                # A bus must isolate subscribers from each other: whatever one raises is
                # reported in the aggregated error below, never swallowed.
                except Exception as exc:  # noqa: BLE001
                    failures.append(HandlerFailure(subscription.name, type(exc).__name__, str(exc)))
                    continue
                seen[event.id] = None
                if len(seen) > self._memory:
                    seen.popitem(last=False)
        if failures:
            raise HandlerFailedError(event.id, failures)

    def has_delivered(self, handler_name: str, event_id: str) -> bool:
        """Return True if ``handler_name`` handled ``event_id`` successfully (and remembers it)."""
        with self._lock:
            return event_id in self._delivered.get(handler_name, OrderedDict())


__all__ = ["DEFAULT_MEMORY", "InProcessBus"]
