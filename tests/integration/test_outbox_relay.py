"""The outbox relay on SQLite and PostgreSQL, to the in-process bus and to the real NATS JetStream.

The NATS tests need ``nats-server -js`` on 127.0.0.1:4222 and fail (never skip) without it.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import nats
import pytest
from sqlalchemy import Engine

from contractsync.adapters.messaging.cloudevents import decode
from contractsync.adapters.messaging.inprocess import InProcessBus
from contractsync.adapters.messaging.nats import JetStreamBus, StreamSpec
from contractsync.adapters.messaging.relay import OutboxRelay
from contractsync.adapters.persistence.unit_of_work import SqlUnitOfWork
from contractsync.domain.events import BusinessEvent, EventType
from contractsync.errors import TransientError
from contractsync.ports.messaging import ANY_EVENT, HandlerFailedError
from contractsync.ports.storage import OutboxEntry, UnitOfWork
from contractsync.testing.fake_storage import InMemoryStore
from contractsync.testing.fakes import FixedClock, InMemoryUnitOfWork

NATS_URL = "nats://127.0.0.1:4222"


class _Crash(BaseException):
    """The process dying: not an error anything may catch."""


def _event(number: int, event_type: EventType = EventType.CONTRACT_APPROVED) -> BusinessEvent:
    return BusinessEvent(
        id=f"evt-{number:05d}",
        type=event_type,
        subject=f"contract/C-{number}",
        correlation_id=f"lineage-{number}",
        occurred_at=datetime(2026, 5, 1, tzinfo=UTC) + timedelta(seconds=number),
        data={"number": number},
    )


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def uow_factory(engine: Engine, clock: FixedClock) -> Callable[[], SqlUnitOfWork]:
    return lambda: SqlUnitOfWork(engine, clock)


def _queue(uow_factory: Callable[[], UnitOfWork], numbers: range) -> None:
    with uow_factory() as uow:
        for number in numbers:
            uow.outbox.add(_event(number))
        uow.commit()


def _pending(uow_factory: Callable[[], UnitOfWork]) -> list[OutboxEntry]:
    with uow_factory() as uow:
        return list(uow.outbox.pending(limit=100_000))


class _Recorder:
    def __init__(self) -> None:
        self.seen: list[str] = []

    def __call__(self, event: BusinessEvent) -> None:
        self.seen.append(event.id)


class _CrashOnMark:
    """A unit-of-work factory whose second unit (the relay's mark) dies before committing."""

    def __init__(self, inner: Callable[[], SqlUnitOfWork]) -> None:
        self.inner = inner
        self.built = 0

    def __call__(self) -> SqlUnitOfWork:
        self.built += 1
        uow = self.inner()
        if self.built == 2:

            def die() -> None:
                raise _Crash

            uow.commit = die  # type: ignore[method-assign]
        return uow


def test_state_and_its_event_are_committed_together_or_not_at_all(
    uow_factory: Callable[[], SqlUnitOfWork], clock: FixedClock
) -> None:
    with uow_factory() as uow:
        uow.records.put("contract", "C-1", {"status": "approved"}, version=1, cause="test")
        uow.outbox.add(_event(1))
        uow.commit()
    with uow_factory() as uow:
        uow.records.put("contract", "C-2", {"status": "approved"}, version=1, cause="test")
        uow.outbox.add(_event(2))
        uow.rollback()
    bus, recorder = InProcessBus(), _Recorder()
    bus.subscribe(ANY_EVENT, recorder, name="recorder")

    OutboxRelay(uow_factory, bus, clock).relay_once()

    with uow_factory() as uow:
        assert uow.records.get("contract", "C-1") is not None
        assert uow.records.get("contract", "C-2") is None
    assert recorder.seen == ["evt-00001"]


def test_the_relay_publishes_in_outbox_order_and_marks_what_it_published(
    uow_factory: Callable[[], SqlUnitOfWork], clock: FixedClock
) -> None:
    _queue(uow_factory, range(1, 8))
    bus, recorder = InProcessBus(), _Recorder()
    bus.subscribe(ANY_EVENT, recorder, name="recorder")
    relay = OutboxRelay(uow_factory, bus, clock, batch=3)

    reports = [relay.relay_once() for _ in range(4)]

    assert [r.published for r in reports] == [3, 3, 1, 0]
    assert recorder.seen == [f"evt-{n:05d}" for n in range(1, 8)]
    assert _pending(uow_factory) == []


def test_a_publish_failure_stops_the_batch_records_it_and_keeps_the_order(
    uow_factory: Callable[[], SqlUnitOfWork], clock: FixedClock
) -> None:
    _queue(uow_factory, range(1, 6))
    bus, recorder = InProcessBus(), _Recorder()
    failing = {"evt-00003"}

    def picky(event: BusinessEvent) -> None:
        if event.id in failing:
            raise RuntimeError("the ERP is down")
        recorder(event)

    bus.subscribe(ANY_EVENT, picky, name="picky")
    relay = OutboxRelay(uow_factory, bus, clock)

    first = relay.relay_once()
    stuck = _pending(uow_factory)
    failing.clear()
    second = relay.relay_once()

    assert (first.published, first.failed_seq) == (2, stuck[0].seq)
    assert isinstance(first.error, HandlerFailedError)
    assert [e.event.id for e in stuck] == ["evt-00003", "evt-00004", "evt-00005"]
    assert stuck[0].attempts == 1
    assert second.published == 3
    assert recorder.seen == [f"evt-{n:05d}" for n in range(1, 6)]


def test_an_entry_whose_handler_keeps_failing_is_parked_by_the_poison_policy(
    uow_factory: Callable[[], SqlUnitOfWork], clock: FixedClock
) -> None:
    _queue(uow_factory, range(1, 3))
    bus, recorder = InProcessBus(), _Recorder()

    def poisoned(event: BusinessEvent) -> None:
        if event.id == "evt-00001":
            raise ValueError("cannot map")
        recorder(event)

    bus.subscribe(ANY_EVENT, poisoned, name="poisoned")
    parked: list[tuple[int, str]] = []
    relay = OutboxRelay(
        uow_factory,
        bus,
        clock,
        max_handler_attempts=3,
        on_poison=lambda uow, entry, error: parked.append(
            (entry.attempts, error.failures[0].handler)
        ),
    )

    reports = [relay.relay_once() for _ in range(4)]

    assert [r.published for r in reports] == [0, 0, 0, 1]
    assert [r.parked for r in reports] == [0, 0, 1, 0]
    assert parked == [(2, "poisoned")]
    assert recorder.seen == ["evt-00002"]


def test_a_crash_after_publish_before_mark_republishes_and_the_bus_drops_the_duplicates(
    uow_factory: Callable[[], SqlUnitOfWork], clock: FixedClock
) -> None:
    _queue(uow_factory, range(1, 5))
    bus, recorder = InProcessBus(), _Recorder()
    bus.subscribe(ANY_EVENT, recorder, name="recorder")

    with pytest.raises(_Crash):
        OutboxRelay(_CrashOnMark(uow_factory), bus, clock).relay_once()
    assert len(_pending(uow_factory)) == 4
    report = OutboxRelay(uow_factory, bus, clock).relay_once()

    assert report.published == 4
    assert recorder.seen == [f"evt-{n:05d}" for n in range(1, 5)]
    assert _pending(uow_factory) == []


def test_the_run_loop_relays_events_committed_while_it_runs_until_stopped(
    uow_factory: Callable[[], SqlUnitOfWork], clock: FixedClock
) -> None:
    bus, recorder = InProcessBus(), _Recorder()
    done = threading.Event()

    def count(event: BusinessEvent) -> None:
        recorder(event)
        if len(recorder.seen) == 30:
            done.set()

    bus.subscribe(ANY_EVENT, count, name="count")
    stop = threading.Event()
    worker = threading.Thread(
        target=OutboxRelay(uow_factory, bus, clock, batch=7).run, args=(stop, 0.01)
    )
    worker.start()
    try:
        for start in range(0, 30, 10):
            _queue(uow_factory, range(start, start + 10))
        assert done.wait(30)
    finally:
        stop.set()
        worker.join(10)

    assert not worker.is_alive()
    assert recorder.seen == [f"evt-{n:05d}" for n in range(30)]


def test_the_relay_needs_only_the_unit_of_work_port_so_the_in_memory_fake_serves_too() -> None:
    store, clock = InMemoryStore(), FixedClock()
    factory = lambda: InMemoryUnitOfWork(store, clock)  # noqa: E731
    _queue(factory, range(1, 4))
    bus, recorder = InProcessBus(), _Recorder()
    bus.subscribe(ANY_EVENT, recorder, name="recorder")

    report = OutboxRelay(factory, bus, clock).relay_once()

    assert report.published == 3
    assert recorder.seen == ["evt-00001", "evt-00002", "evt-00003"]
    assert _pending(factory) == []


# --- NATS JetStream -------------------------------------------------------------------------


def _stream_ids(spec: StreamSpec) -> list[str]:
    async def read() -> list[str]:
        client = await nats.connect(NATS_URL)
        try:
            js = client.jetstream()
            total = (await js.stream_info(spec.name)).state.messages
            return [
                decode((await js.get_msg(spec.name, seq)).data or b"").id
                for seq in range(1, total + 1)
            ]
        finally:
            await client.close()

    return asyncio.run(read())


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


@pytest.fixture
def jetstream() -> Iterator[JetStreamBus]:
    token = uuid.uuid4().hex[:12]
    spec = StreamSpec(name=f"RELAY_{token.upper()}", subject_prefix=f"relay{token}")
    try:
        with JetStreamBus(NATS_URL, spec) as bus:
            yield bus
    finally:
        _drop_stream(spec.name)


@pytest.mark.nats
def test_a_crash_after_publishing_to_nats_is_deduplicated_by_nats_msg_id(
    uow_factory: Callable[[], SqlUnitOfWork], clock: FixedClock, jetstream: JetStreamBus
) -> None:
    _queue(uow_factory, range(1, 6))

    with pytest.raises(_Crash):
        OutboxRelay(_CrashOnMark(uow_factory), jetstream, clock).relay_once()
    report = OutboxRelay(uow_factory, jetstream, clock).relay_once()

    assert report.published == 5
    assert _stream_ids(jetstream.stream) == [f"evt-{n:05d}" for n in range(1, 6)]
    assert _pending(uow_factory) == []


@pytest.mark.nats
def test_a_thousand_events_reach_nats_exactly_once_and_in_order(
    uow_factory: Callable[[], SqlUnitOfWork], clock: FixedClock, jetstream: JetStreamBus
) -> None:
    for start in range(0, 1000, 100):
        _queue(uow_factory, range(start, start + 100))
    relay = OutboxRelay(uow_factory, jetstream, clock, batch=100)
    # A crash half way through: the second relay re-publishes the unmarked batch.
    for _ in range(4):
        relay.relay_once()
    with pytest.raises(_Crash):
        OutboxRelay(_CrashOnMark(uow_factory), jetstream, clock, batch=100).relay_once()

    while relay.relay_once().published:
        pass

    assert _stream_ids(jetstream.stream) == [f"evt-{n:05d}" for n in range(1000)]
    assert _pending(uow_factory) == []


@pytest.mark.nats
def test_a_publish_nats_does_not_acknowledge_is_recorded_on_the_entry_and_nothing_is_marked(
    uow_factory: Callable[[], SqlUnitOfWork], clock: FixedClock, jetstream: JetStreamBus
) -> None:
    _queue(uow_factory, range(1, 4))
    _drop_stream(jetstream.stream.name)

    report = OutboxRelay(uow_factory, jetstream, clock).relay_once()

    assert isinstance(report.error, TransientError)
    assert report.published == 0
    pending = _pending(uow_factory)
    assert [e.attempts for e in pending] == [1, 0, 0]
