"""The in-process bus: fan-out by type, isolated failures reported together, one delivery per id."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest

from contractsync.adapters.messaging.inprocess import InProcessBus
from contractsync.domain.events import BusinessEvent, EventType
from contractsync.ports.messaging import ANY_EVENT, EventPublisher, HandlerFailedError


def _event(number: int, event_type: EventType = EventType.CONTRACT_APPROVED) -> BusinessEvent:
    return BusinessEvent(
        id=f"evt-{number}",
        type=event_type,
        subject=f"contract/C-{number}",
        correlation_id=f"lineage-{number}",
        occurred_at=datetime(2026, 5, 1, tzinfo=UTC),
    )


class _Recorder:
    def __init__(self) -> None:
        self.seen: list[str] = []

    def __call__(self, event: BusinessEvent) -> None:
        self.seen.append(event.id)


class _FailsFirst:
    """Raises on the first ``times`` calls, then records."""

    def __init__(self, times: int) -> None:
        self.remaining = times
        self.seen: list[str] = []

    def __call__(self, event: BusinessEvent) -> None:
        if self.remaining:
            self.remaining -= 1
            raise RuntimeError(f"cannot handle {event.id} yet")
        self.seen.append(event.id)


def test_the_bus_is_an_event_publisher() -> None:
    bus: EventPublisher = InProcessBus()

    bus.publish(_event(1))


def test_handlers_receive_only_the_types_they_subscribed_to_and_star_receives_all() -> None:
    bus = InProcessBus()
    approved, activated, everything = _Recorder(), _Recorder(), _Recorder()
    bus.subscribe(EventType.CONTRACT_APPROVED, approved, name="approved")
    bus.subscribe(EventType.PROJECT_ACTIVATED, activated, name="activated")
    bus.subscribe(ANY_EVENT, everything, name="everything")

    bus.publish(_event(1, EventType.CONTRACT_APPROVED))
    bus.publish(_event(2, EventType.PROJECT_ACTIVATED))
    bus.publish(_event(3, EventType.INVOICE_CREATED))

    assert approved.seen == ["evt-1"]
    assert activated.seen == ["evt-2"]
    assert everything.seen == ["evt-1", "evt-2", "evt-3"]


def test_a_failing_handler_does_not_stop_the_others_and_is_reported_by_name() -> None:
    bus = InProcessBus()
    before, after = _Recorder(), _Recorder()
    bus.subscribe(ANY_EVENT, before, name="before")
    bus.subscribe(ANY_EVENT, _FailsFirst(1), name="flaky")
    bus.subscribe(ANY_EVENT, after, name="after")

    with pytest.raises(HandlerFailedError) as raised:
        bus.publish(_event(1))

    assert before.seen == ["evt-1"]
    assert after.seen == ["evt-1"]
    assert [f.handler for f in raised.value.failures] == ["flaky"]
    assert raised.value.failures[0].error_type == "RuntimeError"
    assert raised.value.detail["failures"][0]["message"] == "cannot handle evt-1 yet"
    assert raised.value.code == "events.handler_failed"


def test_every_failing_handler_is_named_in_one_aggregated_error() -> None:
    bus = InProcessBus()
    bus.subscribe(ANY_EVENT, _FailsFirst(1), name="one")
    bus.subscribe(ANY_EVENT, _FailsFirst(1), name="two")

    with pytest.raises(HandlerFailedError) as raised:
        bus.publish(_event(1))

    assert [f.handler for f in raised.value.failures] == ["one", "two"]
    assert "one, two" in raised.value.message


def test_a_duplicate_event_id_is_delivered_once_per_handler() -> None:
    bus = InProcessBus()
    recorder = _Recorder()
    bus.subscribe(ANY_EVENT, recorder, name="recorder")

    bus.publish(_event(1))
    bus.publish(_event(1))
    bus.publish(_event(2))
    bus.publish(_event(1))

    assert recorder.seen == ["evt-1", "evt-2"]


def test_publishing_again_after_a_failure_retries_only_the_handler_that_failed() -> None:
    bus = InProcessBus()
    steady, flaky = _Recorder(), _FailsFirst(1)
    bus.subscribe(ANY_EVENT, steady, name="steady")
    bus.subscribe(ANY_EVENT, flaky, name="flaky")

    with pytest.raises(HandlerFailedError):
        bus.publish(_event(1))
    bus.publish(_event(1))

    assert steady.seen == ["evt-1"]
    assert flaky.seen == ["evt-1"]
    assert bus.has_delivered("flaky", "evt-1")


def test_the_id_memory_is_bounded_and_forgets_the_oldest_ids_first() -> None:
    bus = InProcessBus(memory=2)
    recorder = _Recorder()
    bus.subscribe(ANY_EVENT, recorder, name="recorder")

    for number in (1, 2, 3):
        bus.publish(_event(number))

    assert not bus.has_delivered("recorder", "evt-1")
    assert bus.has_delivered("recorder", "evt-3")


def test_two_handlers_cannot_share_a_name() -> None:
    bus = InProcessBus()
    bus.subscribe(ANY_EVENT, _Recorder(), name="same")

    with pytest.raises(ValueError, match="same"):
        bus.subscribe(EventType.BILLING_READY, _Recorder(), name="same")


def test_a_handler_is_named_by_its_qualified_name_when_no_name_is_given() -> None:
    bus = InProcessBus()

    def on_invoice(event: BusinessEvent) -> None:
        raise ValueError("boom")

    bus.subscribe(EventType.INVOICE_CREATED, on_invoice)

    with pytest.raises(HandlerFailedError) as raised:
        bus.publish(_event(1, EventType.INVOICE_CREATED))

    assert raised.value.failures[0].handler.endswith("on_invoice")


def test_concurrent_publishers_deliver_each_event_exactly_once() -> None:
    bus = InProcessBus()
    recorder = _Recorder()
    bus.subscribe(ANY_EVENT, recorder, name="recorder")

    def publish_all() -> None:
        for number in range(200):
            bus.publish(_event(number))

    threads = [threading.Thread(target=publish_all) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(recorder.seen) == sorted(f"evt-{n}" for n in range(200))
