"""NATS JetStream on the real server at 127.0.0.1:4222: dedupe, durable consumers, redelivery.

These tests need ``nats-server -js`` on 127.0.0.1:4222 and fail (never skip) without it.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import nats
import pytest

from contractsync.adapters.messaging.cloudevents import decode
from contractsync.adapters.messaging.nats import JetStreamBus, StreamSpec
from contractsync.adapters.messaging.nats_consumer import DeadLetter, DurableConsumer
from contractsync.domain.events import BusinessEvent, EventType
from contractsync.errors import ConfigError, TransientError
from contractsync.ports.messaging import EventPublisher

pytestmark = pytest.mark.nats

NATS_URL = "nats://127.0.0.1:4222"


def _event(number: int, event_type: EventType = EventType.CONTRACT_APPROVED) -> BusinessEvent:
    return BusinessEvent(
        id=f"evt-{number}",
        type=event_type,
        subject=f"contract/C-{number}",
        correlation_id=f"lineage-{number}",
        occurred_at=datetime(2026, 5, 1, tzinfo=UTC),
        data={"number": number},
    )


def _drop_stream(name: str) -> None:
    async def drop() -> None:
        client = await nats.connect(NATS_URL)
        try:
            await client.jetstream().delete_stream(name)
        except nats.js.errors.NotFoundError:
            pass
        finally:
            await client.close()

    asyncio.run(drop())


def _stored(spec: StreamSpec) -> list[BusinessEvent]:
    """Every event in the stream, in stream order, read with a throwaway ordered consumer."""

    async def read() -> list[BusinessEvent]:
        client = await nats.connect(NATS_URL)
        try:
            js = client.jetstream()
            total = (await js.stream_info(spec.name)).state.messages
            found = [
                decode((await js.get_msg(spec.name, seq)).data or b"")
                for seq in range(1, total + 1)
            ]
            return found
        finally:
            await client.close()

    return asyncio.run(read())


@pytest.fixture
def spec() -> Iterator[StreamSpec]:
    token = uuid.uuid4().hex[:12]
    stream = StreamSpec(name=f"TEST_{token.upper()}", subject_prefix=f"test{token}")
    yield stream
    _drop_stream(stream.name)


@pytest.fixture
def bus(spec: StreamSpec) -> Iterator[JetStreamBus]:
    with JetStreamBus(NATS_URL, spec, timeout=3.0) as connected:
        yield connected


def test_the_jetstream_bus_is_an_event_publisher(bus: JetStreamBus) -> None:
    publisher: EventPublisher = bus

    publisher.publish(_event(1))

    assert _stored(bus.stream) == [_event(1)]


def test_publishing_twice_with_the_same_event_id_stores_one_message(bus: JetStreamBus) -> None:
    first = bus.publish_checked(_event(1))
    second = bus.publish_checked(_event(1))

    assert (first.sequence, first.duplicate) == (1, False)
    assert (second.sequence, second.duplicate) == (1, True)
    assert _stored(bus.stream) == [_event(1)]


def test_events_go_to_subject_contractsync_dot_type_as_cloudevents(bus: JetStreamBus) -> None:
    async def read_subject() -> tuple[str, dict[str, str]]:
        client = await nats.connect(NATS_URL)
        try:
            raw = await client.jetstream().get_msg(bus.stream.name, 1)
            return raw.subject or "", dict(raw.headers or {})
        finally:
            await client.close()

    bus.publish(_event(1, EventType.MILESTONE_COMPLETED))
    subject, headers = asyncio.run(read_subject())

    assert subject == f"{bus.stream.subject_prefix}.milestone.completed"
    assert headers["Nats-Msg-Id"] == "evt-1"
    assert headers["Content-Type"] == "application/cloudevents+json"


def test_connecting_again_finds_the_stream_it_created(spec: StreamSpec) -> None:
    with JetStreamBus(NATS_URL, spec) as first:
        first.publish(_event(1))
    with JetStreamBus(NATS_URL, spec) as second:
        second.publish(_event(2))

    assert [e.id for e in _stored(spec)] == ["evt-1", "evt-2"]


def test_a_stream_name_taken_by_other_subjects_is_a_config_error(spec: StreamSpec) -> None:
    with JetStreamBus(NATS_URL, spec):
        pass
    clash = StreamSpec(name=spec.name, subject_prefix=spec.subject_prefix + "other")

    with pytest.raises(ConfigError, match="does not capture"):
        JetStreamBus(NATS_URL, clash).connect()


def test_an_unreachable_server_is_a_transient_error_within_the_connect_timeout() -> None:
    started = time.monotonic()

    with pytest.raises(TransientError, match="unavailable"):
        JetStreamBus("nats://127.0.0.1:1", connect_timeout=1.0).connect()

    assert time.monotonic() - started < 4


def test_a_durable_consumer_resumes_after_reconnect_where_it_left_off(spec: StreamSpec) -> None:
    seen: list[str] = []
    with JetStreamBus(NATS_URL, spec) as bus:
        for number in range(1, 4):
            bus.publish(_event(number))
        report = DurableConsumer(bus, "erp-sync").consume(
            lambda e: seen.append(e.id), max_messages=3
        )
        assert report.acked == 3
    with JetStreamBus(NATS_URL, spec) as bus:
        for number in range(4, 6):
            bus.publish(_event(number))
        DurableConsumer(bus, "erp-sync").consume(
            lambda e: seen.append(e.id), max_messages=5, idle=0.5
        )

    assert seen == ["evt-1", "evt-2", "evt-3", "evt-4", "evt-5"]


def test_a_consumer_filtered_by_type_receives_only_that_type(bus: JetStreamBus) -> None:
    seen: list[str] = []
    bus.publish(_event(1, EventType.CONTRACT_APPROVED))
    bus.publish(_event(2, EventType.INVOICE_CREATED))

    DurableConsumer(bus, "billing", event_type=EventType.INVOICE_CREATED).consume(
        lambda e: seen.append(e.id), max_messages=2, idle=0.5
    )

    assert seen == ["evt-2"]


def test_a_failed_handler_naks_and_the_message_is_redelivered(bus: JetStreamBus) -> None:
    attempts: list[str] = []

    def flaky(event: BusinessEvent) -> None:
        attempts.append(event.id)
        if len(attempts) == 1:
            raise RuntimeError("ERP is down")

    bus.publish(_event(1))
    report = DurableConsumer(bus, "psa", nak_delay=0.2).consume(flaky, max_messages=2, idle=2.0)

    assert attempts == ["evt-1", "evt-1"]
    assert (report.naked, report.acked) == (1, 1)


def test_a_message_failing_max_deliver_times_becomes_a_dead_letter(bus: JetStreamBus) -> None:
    dead: list[DeadLetter] = []
    attempts: list[str] = []

    def poison(event: BusinessEvent) -> None:
        attempts.append(event.id)
        raise ValueError("cannot map this contract")

    bus.publish(_event(1))
    bus.publish(_event(2))
    consumer = DurableConsumer(
        bus, "poison", max_deliver=3, nak_delay=0.05, on_dead_letter=dead.append
    )
    report = consumer.consume(
        lambda e: poison(e) if e.id == "evt-1" else None, max_messages=4, idle=1.0
    )

    assert attempts == ["evt-1", "evt-1", "evt-1"]
    assert (report.acked, report.naked, report.dead) == (1, 2, 1)
    assert dead[0].event == _event(1)
    assert (dead[0].stream_sequence, dead[0].deliveries) == (1, 3)
    assert dead[0].error == "ValueError: cannot map this contract"
    assert consumer.consume(lambda e: None, max_messages=1, idle=0.5).acked == 0


def test_a_message_that_is_not_a_cloudevent_is_a_dead_letter_at_once(bus: JetStreamBus) -> None:
    dead: list[DeadLetter] = []

    async def publish_garbage() -> None:
        client = await nats.connect(NATS_URL)
        try:
            await client.jetstream().publish(
                f"{bus.stream.subject_prefix}.contract.approved", b"{}"
            )
        finally:
            await client.close()

    asyncio.run(publish_garbage())
    report = DurableConsumer(bus, "strict", on_dead_letter=dead.append).consume(
        lambda e: None, max_messages=1
    )

    assert report.dead == 1
    assert dead[0].event is None
    assert dead[0].error.startswith("DataError: malformed CloudEvent")
