"""Durable JetStream pull consumers: ack on success, delayed nak on failure, bounded deliveries."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from nats.aio.msg import Msg
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.client import JetStreamContext
from nats.js.errors import NotFoundError

from contractsync.adapters.messaging.cloudevents import decode
from contractsync.adapters.messaging.nats import JetStreamBus
from contractsync.domain.events import BusinessEvent, EventType
from contractsync.errors import DataError
from contractsync.ports.messaging import ANY_EVENT, EventHandler


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A message the consumer gave up on (terminated on the server, never redelivered).

    Attributes:
        durable: The consumer's durable name.
        stream_sequence: Where the message sits in the stream (fetch it again by sequence).
        deliveries: How many times it was delivered.
        event: The event, or None when the message was not a readable CloudEvent.
        error: Why it failed, as ``ErrorType: message``.
    """

    durable: str
    stream_sequence: int
    deliveries: int
    event: BusinessEvent | None
    error: str


@dataclass(frozen=True, slots=True)
class ConsumeReport:
    """What one :meth:`DurableConsumer.consume` call did."""

    acked: int = 0
    naked: int = 0
    dead: int = 0


@dataclass(frozen=True, slots=True)
class _Settle:
    message: Msg
    action: Literal["ack", "nak", "term"]
    delay: float = 0.0


class DurableConsumer:
    """A durable pull consumer on the bus's stream, driven from the calling thread.

    The consumer is created on first use (explicit ack, every message from the start of the
    stream) and keeps its position on the server, so a new process with the same ``durable``
    resumes after the last acked message. Handlers run in the calling thread, not on the
    NATS loop, so a slow handler cannot stall heartbeats; it must finish within ``ack_wait``
    or the server redelivers. Delivery is at least once and a nak'ed message can come back
    after later ones: handlers must be idempotent and tolerate reordering.

    Args:
        bus: A connected JetStreamBus.
        durable: The durable consumer name (one per reacting service).
        event_type: The type to receive, or ``"*"`` for every type.
        max_deliver: Deliveries before the message is given up.
        ack_wait: Seconds the server waits for an ack before redelivering.
        nak_delay: First redelivery delay; doubled per delivery, capped at ``max_nak_delay``.
        max_nak_delay: Longest redelivery delay in seconds.
        on_dead_letter: Called with every message given up on, after it is terminated. Without
            it a failing message is nak'ed until ``max_deliver`` and the server publishes its
            ``$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES`` advisory instead.
    """

    def __init__(
        self,
        bus: JetStreamBus,
        durable: str,
        *,
        event_type: EventType | Literal["*"] = ANY_EVENT,
        max_deliver: int = 5,
        ack_wait: float = 30.0,
        nak_delay: float = 1.0,
        max_nak_delay: float = 300.0,
        on_dead_letter: Callable[[DeadLetter], None] | None = None,
    ) -> None:
        if max_deliver < 1:
            raise ValueError("max_deliver must be at least 1")
        self.bus = bus
        self.durable = durable
        self.event_type = event_type
        self.max_deliver = max_deliver
        self.ack_wait = ack_wait
        self.nak_delay = nak_delay
        self.max_nak_delay = max_nak_delay
        self.on_dead_letter = on_dead_letter
        self._subscription: JetStreamContext.PullSubscription | None = None

    def consume(
        self,
        handler: EventHandler,
        *,
        stop: threading.Event | None = None,
        max_messages: int | None = None,
        batch: int = 50,
        idle: float = 1.0,
    ) -> ConsumeReport:
        """Handle messages until stopped, drained, or ``max_messages`` were settled.

        With ``stop`` the call runs until it is set (a worker's loop); without it the call
        returns after the first fetch that finds nothing within ``idle`` (a drain).

        Each message is decoded and passed to ``handler``: success acks it; an exception naks
        it with a growing delay; on its last allowed delivery, or when it is not a readable
        CloudEvent, it is terminated and reported to ``on_dead_letter`` (if given).

        Args:
            handler: Called once per delivery.
            stop: Set it from another thread to return after the current batch.
            max_messages: Return after settling this many messages (tests, one-shot runs).
            batch: Messages fetched per round trip.
            idle: Seconds one fetch waits for messages before checking ``stop`` again.

        Returns:
            How many messages were acked, nak'ed and given up on.

        Raises:
            TransientError: The server is unreachable.
        """
        acked = naked = dead = 0
        while not (stop is not None and stop.is_set()):
            wanted = (
                batch if max_messages is None else min(batch, max_messages - acked - naked - dead)
            )
            if wanted <= 0:
                break
            messages = self.bus.run(self._fetch(wanted, idle), timeout=idle + self.bus.timeout + 1)
            if not messages and stop is None:
                break
            settles = [self._handle(message, handler) for message in messages]
            self.bus.run(_settle_all(settles))
            acked += sum(s.action == "ack" for s in settles)
            naked += sum(s.action == "nak" for s in settles)
            dead += sum(s.action == "term" for s in settles)
        return ConsumeReport(acked=acked, naked=naked, dead=dead)

    def _handle(self, message: Msg, handler: EventHandler) -> _Settle:
        deliveries = message.metadata.num_delivered
        try:
            event: BusinessEvent | None = decode(message.data)
        except DataError as exc:
            return self._give_up(message, None, f"DataError: {exc.message}")
        assert event is not None
        try:
            handler(event)
        # The consumer isolates the worker from its handler: any failure becomes a nak or a
        # dead letter, both visible on the server, never a crashed consumer loop.
        except Exception as exc:  # noqa: BLE001
            error = f"{type(exc).__name__}: {exc}"
            if deliveries >= self.max_deliver:
                return self._give_up(message, event, error)
            delay = min(self.nak_delay * 2 ** (deliveries - 1), self.max_nak_delay)
            return _Settle(message, "nak", delay)
        return _Settle(message, "ack")

    def _give_up(self, message: Msg, event: BusinessEvent | None, error: str) -> _Settle:
        if self.on_dead_letter is None:
            return _Settle(message, "nak", self.nak_delay)
        self.on_dead_letter(
            DeadLetter(
                durable=self.durable,
                stream_sequence=message.metadata.sequence.stream,
                deliveries=message.metadata.num_delivered,
                event=event,
                error=error,
            )
        )
        return _Settle(message, "term")

    async def _fetch(self, wanted: int, idle: float) -> list[Msg]:
        if self._subscription is None:
            self._subscription = await self._bind()
        try:
            return await self._subscription.fetch(wanted, timeout=idle)
        # nats-py raises its own TimeoutError or asyncio's depending on the path; both are
        # the builtin TimeoutError and both mean nothing arrived within ``idle``.
        except TimeoutError:
            return []

    async def _bind(self) -> JetStreamContext.PullSubscription:
        js, spec = self.bus.jetstream, self.bus.stream
        subject = (
            spec.subjects
            if self.event_type == ANY_EVENT
            else f"{spec.subject_prefix}.{self.event_type}"
        )
        try:
            await js.consumer_info(spec.name, self.durable)
        except NotFoundError:
            await js.add_consumer(
                spec.name,
                ConsumerConfig(
                    durable_name=self.durable,
                    ack_policy=AckPolicy.EXPLICIT,
                    deliver_policy=DeliverPolicy.ALL,
                    ack_wait=self.ack_wait,
                    max_deliver=self.max_deliver,
                    filter_subject=subject,
                ),
            )
        return await js.pull_subscribe_bind(consumer=self.durable, stream=spec.name)


async def _settle_all(settles: list[_Settle]) -> None:
    for settle in settles:
        if settle.action == "ack":
            await settle.message.ack()
        elif settle.action == "nak":
            await settle.message.nak(delay=settle.delay)
        else:
            await settle.message.term()


__all__ = ["ConsumeReport", "DeadLetter", "DurableConsumer"]
