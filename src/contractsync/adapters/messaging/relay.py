"""The outbox relay: moves committed business events from the outbox table to the bus, in order."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from contractsync.errors import ContractSyncError
from contractsync.ports.clock import Clock
from contractsync.ports.messaging import EventPublisher, HandlerFailedError
from contractsync.ports.storage import OutboxEntry, UnitOfWork

PoisonPolicy = Callable[[UnitOfWork, OutboxEntry, HandlerFailedError], None]
"""Called, inside an open unit of work, for an entry whose subscribers keep failing.

The relay then marks the entry published in the same transaction, so later events flow
again. Bootstrap wires one that raises an ExceptionItem (with its audit entry) so a person
sees the event and can replay it to the failing handler.
"""


@dataclass(frozen=True, slots=True)
class RelayReport:
    """What one :meth:`OutboxRelay.relay_once` did.

    Attributes:
        published: Entries published and marked, in outbox order.
        parked: Entries handed to the poison policy and marked.
        failed_seq: The entry the batch stopped at, if a publish failed.
        error: That failure.
    """

    published: int = 0
    parked: int = 0
    failed_seq: int | None = None
    error: ContractSyncError | None = None


class OutboxRelay:
    """Publishes pending outbox entries oldest first, at least once, never out of order.

    Each batch is read in one short transaction, published with no transaction open (so an
    in-process handler may open its own unit of work, even on SQLite's single writer), then
    marked in a second short transaction. A publish failure stops the batch at that entry:
    the entries before it are marked, the failure is counted on the entry, and the next batch
    starts again at it. A crash between publish and mark re-publishes those entries; the bus
    drops them (``Nats-Msg-Id`` on JetStream, the id memory of the in-process bus), and every
    handler is idempotent per event id anyway.

    Run one relay per database: a second one is safe with JetStream inside its duplicate
    window, but the two interleave and so weaken the ordering.

    Args:
        uow_factory: Builds a fresh unit of work (one per transaction).
        publisher: The bus.
        clock: Stamps ``published_at``.
        batch: Entries per batch (``settings.messaging.relay_batch``).
        max_handler_attempts: Attempts after which an entry whose *subscribers* keep failing
            (HandlerFailedError) goes to ``on_poison``. Bus outages are never given up on.
        on_poison: The poison policy; without one such an entry blocks the outbox until its
            handler is fixed (each attempt still counted on the entry).
    """

    def __init__(
        self,
        uow_factory: Callable[[], UnitOfWork],
        publisher: EventPublisher,
        clock: Clock,
        *,
        batch: int = 100,
        max_handler_attempts: int = 10,
        on_poison: PoisonPolicy | None = None,
    ) -> None:
        if batch < 1 or max_handler_attempts < 1:
            raise ValueError("batch and max_handler_attempts must be at least 1")
        self.uow_factory = uow_factory
        self.publisher = publisher
        self.clock = clock
        self.batch = batch
        self.max_handler_attempts = max_handler_attempts
        self.on_poison = on_poison

    def relay_once(self, batch: int | None = None) -> RelayReport:
        """Relay up to ``batch`` pending entries (default: the relay's batch size).

        Returns:
            How many were published and parked, and the failure that stopped the batch.
        """
        with self.uow_factory() as uow:
            entries = list(uow.outbox.pending(limit=batch or self.batch))
        if not entries:
            return RelayReport()
        published: list[int] = []
        failure: tuple[OutboxEntry, ContractSyncError] | None = None
        for entry in entries:
            try:
                self.publisher.publish(entry.event)
            except ContractSyncError as exc:
                failure = (entry, exc)
                break
            published.append(entry.seq)
        parked = 0
        with self.uow_factory() as uow:
            poison = self._poison(*failure) if failure is not None else None
            if failure is not None and poison is not None and self.on_poison is not None:
                self.on_poison(uow, failure[0], poison)
                published.append(failure[0].seq)
                parked, failure = 1, None
            if published:
                uow.outbox.mark_published(published, at=self.clock.now())
            if failure is not None:
                uow.outbox.record_failure(failure[0].seq, str(failure[1]))
            uow.commit()
        return RelayReport(
            published=len(published) - parked,
            parked=parked,
            failed_seq=failure[0].seq if failure else None,
            error=failure[1] if failure else None,
        )

    def _poison(self, entry: OutboxEntry, error: ContractSyncError) -> HandlerFailedError | None:
        # ``attempts`` counts earlier failures; this one is attempt ``attempts + 1``.
        if (
            isinstance(error, HandlerFailedError)
            and entry.attempts + 1 >= self.max_handler_attempts
        ):
            return error
        return None

    def run(self, stop_event: threading.Event, interval: float = 0.2) -> None:
        """Relay until ``stop_event`` is set: the worker's outbox duty.

        A full batch is followed at once by the next; an empty or partial one waits
        ``interval``; after a failure the wait doubles per consecutive failure (capped at
        32 times ``interval``) so a down bus is not hammered. Storage errors propagate to the
        caller, which owns restarting the duty.

        Args:
            stop_event: Set from another thread to stop after the current batch.
            interval: Seconds between polls of an idle outbox: the worst added publish lag
                (the default keeps commit-to-bus lag well under the 1 s p99 goal).
        """
        failures = 0
        while not stop_event.is_set():
            report = self.relay_once()
            if report.error is not None:
                failures += 1
                stop_event.wait(interval * min(2 ** (failures - 1), 32))
                continue
            failures = 0
            if report.published + report.parked < self.batch:
                stop_event.wait(interval)


__all__ = ["OutboxRelay", "PoisonPolicy", "RelayReport"]
