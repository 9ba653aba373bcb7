"""Outbound webhooks to a real loopback HTTP receiver, on SQLite and PostgreSQL.

The receiver verifies every request with the Standard Webhooks verifier the ingress uses.
Time is an injected clock: backoff is observed by moving it, never by sleeping.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from sqlalchemy import Engine

from contractsync.adapters.messaging.destinations import DestinationPolicy, check_destination
from contractsync.adapters.messaging.inprocess import InProcessBus
from contractsync.adapters.messaging.relay import OutboxRelay
from contractsync.adapters.messaging.webhook_retries import RetrySchedule
from contractsync.adapters.messaging.webhooks_out import WebhookFanout, WebhookSender
from contractsync.adapters.persistence.subscriptions import (
    DeliveryStatus,
    SqlWebhookSubscriptions,
    WebhookDelivery,
    WebhookSubscription,
)
from contractsync.adapters.persistence.unit_of_work import SqlUnitOfWork
from contractsync.adapters.signatures.standard_webhooks import (
    StandardWebhooksVerifier,
    generate_secret,
)
from contractsync.domain.events import BusinessEvent, EventType
from contractsync.errors import RejectedError
from contractsync.ports.messaging import ANY_EVENT
from contractsync.testing.fakes import FixedClock

SECRET = generate_secret()
SECRET_ENV = "CONTRACTSYNC_TEST_WEBHOOK_SECRET"
LOOPBACK = DestinationPolicy(allow_private_addresses=True, allowed_schemes=("http",))


@dataclass
class _Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class _Receiver:
    """A real HTTP server on 127.0.0.1: answers scripted statuses, records every request."""

    url: str
    script: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    received: list[_Received] = field(default_factory=list)
    delay: float = 0.0

    def answer(self, *statuses: int | tuple[int, dict[str, str]]) -> None:
        self.script.extend(s if isinstance(s, tuple) else (s, {}) for s in statuses)


@pytest.fixture
def receiver() -> Iterator[_Receiver]:
    state = _Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["content-length"]))
            state.received.append(_Received({k.lower(): v for k, v in self.headers.items()}, body))
            if state.delay:
                time.sleep(state.delay)
            status, headers = state.script.pop(0) if state.script else (204, {})
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 5, 1, 12, 0, tzinfo=UTC))


@pytest.fixture(autouse=True)
def secret_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SECRET_ENV, SECRET)


def _event(number: int, event_type: EventType = EventType.INVOICE_CREATED) -> BusinessEvent:
    return BusinessEvent(
        id=f"evt-{number}",
        type=event_type,
        subject=f"invoice/INV-{number}",
        correlation_id=f"lineage-{number}",
        occurred_at=datetime(2026, 5, 1, 11, 59, tzinfo=UTC),
        data={"amount": {"currency": "EUR", "value": "100.00"}},
    )


def _subscribe(engine: Engine, clock: FixedClock, url: str, *types: str, sid: str = "acme") -> None:
    with engine.begin() as connection:
        SqlWebhookSubscriptions(connection, clock).add(
            WebhookSubscription(id=sid, url=url, secret_ref=SECRET_ENV, event_types=types or ("*",))
        )


def _publish(engine: Engine, clock: FixedClock, *events: BusinessEvent) -> None:
    """Commit the events to the outbox and relay them through the fan-out."""
    with SqlUnitOfWork(engine, clock) as uow:
        for event in events:
            uow.outbox.add(event)
        uow.commit()
    bus = InProcessBus()
    bus.subscribe(ANY_EVENT, WebhookFanout(engine, clock), name="webhooks")
    OutboxRelay(lambda: SqlUnitOfWork(engine, clock), bus, clock).relay_once()


def _deliveries(engine: Engine, clock: FixedClock) -> list[WebhookDelivery]:
    with engine.begin() as connection:
        return list(SqlWebhookSubscriptions(connection, clock).deliveries())


_SENDERS: list[WebhookSender] = []


@pytest.fixture(autouse=True)
def close_senders() -> Iterator[None]:
    yield
    while _SENDERS:
        _SENDERS.pop().close()


def _sender(engine: Engine, clock: FixedClock, **options: object) -> WebhookSender:
    options.setdefault("policy", LOOPBACK)
    options.setdefault("random", lambda: 0.5)  # no jitter: the schedule exactly
    sender = WebhookSender(engine, clock, **options)  # type: ignore[arg-type]
    _SENDERS.append(sender)
    return sender


def _verifier(clock: FixedClock) -> StandardWebhooksVerifier:
    return StandardWebhooksVerifier([SECRET], clock=lambda: clock.now().timestamp())


def test_a_relayed_event_is_posted_as_a_signed_cloudevent_the_verifier_accepts(
    engine: Engine, clock: FixedClock, receiver: _Receiver
) -> None:
    _subscribe(engine, clock, receiver.url)
    _publish(engine, clock, _event(1))

    report = _sender(engine, clock).deliver_due()

    assert report.delivered == 1
    [request] = receiver.received
    verified = _verifier(clock).verify(request.headers, request.body)
    assert verified.event_id == "evt-1"
    assert verified.timestamp == clock.now()
    assert request.headers["content-type"] == "application/cloudevents+json"
    envelope = json.loads(request.body)
    assert (envelope["id"], envelope["type"], envelope["source"]) == (
        "evt-1",
        "invoice.created",
        "contractsync",
    )
    assert envelope["correlationid"] == "lineage-1"
    [delivery] = _deliveries(engine, clock)
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("delivered", 1, 204)


def test_only_subscribers_of_the_event_type_get_a_delivery_and_only_once(
    engine: Engine, clock: FixedClock, receiver: _Receiver
) -> None:
    _subscribe(engine, clock, receiver.url, "invoice.created", sid="billing")
    _subscribe(engine, clock, receiver.url, "project.activated", sid="psa")
    _subscribe(engine, clock, receiver.url, sid="everything")
    _publish(engine, clock, _event(1), _event(2, EventType.PROJECT_ACTIVATED))
    WebhookFanout(engine, clock)(_event(1))  # a redelivered event queues nothing new

    deliveries = _deliveries(engine, clock)

    assert [(d.subscription_id, d.event_id) for d in deliveries] == [
        ("billing", "evt-1"),
        ("everything", "evt-1"),
        ("everything", "evt-2"),
        ("psa", "evt-2"),
    ]


def test_a_500_then_a_200_is_delivered_on_the_second_attempt_after_the_backoff(
    engine: Engine, clock: FixedClock, receiver: _Receiver
) -> None:
    _subscribe(engine, clock, receiver.url)
    _publish(engine, clock, _event(1))
    receiver.answer(500, 200)
    sender = _sender(engine, clock)

    first = sender.deliver_due()
    [after_first] = _deliveries(engine, clock)
    clock.advance(timedelta(seconds=4))
    too_early = sender.deliver_due()
    clock.advance(timedelta(seconds=1))
    second = sender.deliver_due()

    assert (first.retrying, too_early.retrying + too_early.delivered, second.delivered) == (1, 0, 1)
    assert after_first.next_attempt_at == datetime(2026, 5, 1, 12, 0, 5, tzinfo=UTC)
    assert (after_first.last_status_code, after_first.attempts) == (500, 1)
    assert len(receiver.received) == 2
    ids = {r.headers["webhook-id"] for r in receiver.received}
    stamps = [int(r.headers["webhook-timestamp"]) for r in receiver.received]
    assert ids == {"evt-1"}
    assert stamps[1] - stamps[0] == 5
    _verifier(clock).verify(receiver.received[1].headers, receiver.received[1].body)
    [done] = _deliveries(engine, clock)
    assert (done.status, done.attempts) == ("delivered", 2)


def test_retry_after_from_a_429_is_honoured_when_longer_than_the_schedule(
    engine: Engine, clock: FixedClock, receiver: _Receiver
) -> None:
    _subscribe(engine, clock, receiver.url)
    _publish(engine, clock, _event(1))
    receiver.answer((429, {"Retry-After": "120"}))

    _sender(engine, clock).deliver_due()

    [delivery] = _deliveries(engine, clock)
    assert delivery.next_attempt_at == clock.now() + timedelta(seconds=120)


def test_410_gone_disables_the_subscription_and_nothing_more_is_sent(
    engine: Engine, clock: FixedClock, receiver: _Receiver
) -> None:
    _subscribe(engine, clock, receiver.url)
    _publish(engine, clock, _event(1))
    receiver.answer(410)
    sender = _sender(engine, clock)

    report = sender.deliver_due()
    _publish(engine, clock, _event(2))
    later = sender.deliver_due()

    assert (report.disabled, later.delivered) == (1, 0)
    assert len(receiver.received) == 1
    with engine.begin() as connection:
        subscription = SqlWebhookSubscriptions(connection, clock).get("acme")
    assert subscription is not None
    assert not subscription.active
    assert [d.status for d in _deliveries(engine, clock)] == ["failed"]  # none queued for it


def test_redirects_are_not_followed_and_count_as_failures(
    engine: Engine, clock: FixedClock, receiver: _Receiver
) -> None:
    _subscribe(engine, clock, receiver.url)
    _publish(engine, clock, _event(1))
    receiver.answer((302, {"Location": "http://169.254.169.254/latest/meta-data"}))

    report = _sender(engine, clock).deliver_due()

    assert report.retrying == 1
    assert len(receiver.received) == 1
    assert _deliveries(engine, clock)[0].last_status_code == 302


def test_a_timeout_is_retried_with_backoff(
    engine: Engine, clock: FixedClock, receiver: _Receiver
) -> None:
    _subscribe(engine, clock, receiver.url)
    _publish(engine, clock, _event(1))
    receiver.delay = 1.0

    report = _sender(engine, clock, client=httpx.Client(timeout=0.2)).deliver_due()

    [delivery] = _deliveries(engine, clock)
    assert report.retrying == 1
    assert delivery.last_status_code is None
    assert "response was lost" in (delivery.last_error or "")
    assert delivery.next_attempt_at == clock.now() + timedelta(seconds=5)


def test_a_delivery_failing_through_the_whole_schedule_is_dead_until_replayed(
    engine: Engine, clock: FixedClock, receiver: _Receiver
) -> None:
    _subscribe(engine, clock, receiver.url)
    _publish(engine, clock, _event(1))
    schedule = RetrySchedule()
    receiver.answer(*[503] * schedule.max_attempts)
    sender = _sender(engine, clock, schedule=schedule)

    outcomes = []
    for delay in (timedelta(0), *schedule.delays):
        clock.advance(delay)
        outcomes.append(sender.deliver_due())
    [dead] = _deliveries(engine, clock)
    with engine.begin() as connection:
        requeued = SqlWebhookSubscriptions(connection, clock).replay(subscription_id="acme")
    replayed = sender.deliver_due()

    assert [o.retrying for o in outcomes] == [1] * 9 + [0]
    assert outcomes[-1].failed == 1
    assert (dead.status, dead.attempts, dead.next_attempt_at) == ("failed", 10, None)
    assert clock.now() - datetime(2026, 5, 1, 12, 0, tzinfo=UTC) == sum(
        schedule.delays, timedelta()
    )
    assert (requeued, replayed.delivered) == (1, 1)
    assert len(receiver.received) == 11


def test_a_private_address_is_refused_without_the_allow_flag_and_nothing_is_sent(
    engine: Engine, clock: FixedClock, receiver: _Receiver
) -> None:
    _subscribe(engine, clock, receiver.url)
    _publish(engine, clock, _event(1))
    strict = DestinationPolicy(allowed_schemes=("http", "https"))

    report = _sender(engine, clock, policy=strict).deliver_due()

    [delivery] = _deliveries(engine, clock)
    assert report.failed == 1
    assert receiver.received == []
    assert delivery.status == DeliveryStatus.FAILED
    assert "internal address 127.0.0.1" in (delivery.last_error or "")


def test_a_missing_secret_is_retried_and_named_without_sending(
    engine: Engine, clock: FixedClock, receiver: _Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(SECRET_ENV)
    _subscribe(engine, clock, receiver.url)
    _publish(engine, clock, _event(1))

    report = _sender(engine, clock).deliver_due()

    [delivery] = _deliveries(engine, clock)
    assert report.retrying == 1
    assert receiver.received == []
    assert SECRET_ENV in (delivery.last_error or "")


def test_a_claimed_delivery_is_not_sent_twice_by_a_second_sender(
    engine: Engine, clock: FixedClock, receiver: _Receiver
) -> None:
    _subscribe(engine, clock, receiver.url)
    _publish(engine, clock, *(_event(n) for n in range(20)))
    senders = [_sender(engine, clock, batch=5) for _ in range(3)]
    threads = [threading.Thread(target=s.deliver_due) for s in senders for _ in range(2)]

    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    ids = [r.headers["webhook-id"] for r in receiver.received]
    assert len(ids) == len(set(ids))
    assert all(d.status == "delivered" for d in _deliveries(engine, clock) if d.event_id in ids)


_Resolver = Callable[[str, int], list[str]]


def _resolving_to(*addresses: str) -> _Resolver:
    return lambda host, port: list(addresses)


@pytest.mark.parametrize(
    ("url", "addresses"),
    [
        ("https://hooks.example.com/x", ("10.0.0.7",)),
        ("https://hooks.example.com/x", ("192.168.1.1",)),
        ("https://hooks.example.com/x", ("172.16.0.1",)),
        ("https://hooks.example.com/x", ("127.0.0.1",)),
        ("https://hooks.example.com/x", ("169.254.169.254",)),
        ("https://hooks.example.com/x", ("100.64.0.1",)),
        ("https://hooks.example.com/x", ("0.0.0.0",)),
        ("https://hooks.example.com/x", ("::1",)),
        ("https://hooks.example.com/x", ("fc00::1",)),
        ("https://hooks.example.com/x", ("fe80::1%eth0",)),
        ("https://hooks.example.com/x", ("::ffff:127.0.0.1",)),
        ("https://hooks.example.com/x", ("224.0.0.1",)),
        ("https://hooks.example.com/x", ("93.184.216.34", "10.0.0.7")),
        ("https://localhost/x", None),
        ("https://2130706433/x", None),
        ("http://hooks.example.com/x", ("93.184.216.34",)),
        ("https://user:pw@hooks.example.com/x", ("93.184.216.34",)),
        ("ftp://hooks.example.com/x", ("93.184.216.34",)),
    ],
)
def test_internal_or_unsafe_destinations_are_refused(
    url: str, addresses: tuple[str, ...] | None
) -> None:
    options = {} if addresses is None else {"resolver": _resolving_to(*addresses)}

    with pytest.raises(RejectedError) as refused:
        check_destination(url, DestinationPolicy(), **options)  # type: ignore[arg-type]

    assert refused.value.code == "webhook.destination_refused"
    assert "pw" not in refused.value.message


def test_a_public_https_destination_is_pinned_to_its_checked_address() -> None:
    destination = check_destination(
        "https://hooks.example.com:8443/x?k=1",
        DestinationPolicy(),
        resolver=_resolving_to("93.184.216.34"),
    )

    assert destination.addresses == ("93.184.216.34",)
    assert str(destination.pinned_url("93.184.216.34")) == "https://93.184.216.34:8443/x?k=1"
    assert destination.host_header() == "hooks.example.com:8443"
    assert destination.pinned_extensions() == {"sni_hostname": "hooks.example.com"}


def test_the_request_goes_to_a_checked_address_with_the_configured_host_header(
    engine: Engine, clock: FixedClock, receiver: _Receiver
) -> None:
    port = receiver.url.split(":")[2].split("/")[0]
    _subscribe(engine, clock, f"http://hooks.example.test:{port}/hooks")
    _publish(engine, clock, _event(1))
    # The receiver binds 127.0.0.1 only, so 127.0.0.3 refuses the connection: the sender
    # falls back to the next checked address, as a client does across A/AAAA answers.
    resolver = _resolving_to("127.0.0.3", "127.0.0.1")

    report = _sender(engine, clock, resolver=resolver).deliver_due()

    assert report.delivered == 1
    assert receiver.received[0].headers["host"] == f"hooks.example.test:{port}"
