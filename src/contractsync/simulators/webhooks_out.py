"""Outbound webhooks of a simulator: signed deliveries with retries, duplicates and reordering.

A simulator ``emit``s an event; one delivery per matching subscription is queued. ``flush``
sends the deliveries that are due (all of them with ``force=True``), each body serialised
once and signed by the injected signer, so the signing scheme stays the vendor's business
(Standard Webhooks here, RSA for Ironclad, Connect HMAC for DocuSign). A delivery succeeds
on any 2xx; anything else is retried after ``retry_delays``; a 410 disables the subscription.
The fault plan adds duplicates (the same event id delivered again later) and shuffles each
batch. With ``start()`` a daemon thread flushes on its own, as a running vendor would.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from contractsync.simulators.faults import FaultInjector, drift

Signer = Callable[[str, bytes, int], Mapping[str, str]]
"""(event id, exact body bytes, Unix seconds of this attempt) -> the signature headers."""
SignerFactory = Callable[[str], Signer]
"""Builds the signer for one subscription's secret."""


def standard_webhooks_signer(secret: str) -> Signer:
    """A Standard Webhooks v1 signer (HMAC-SHA256 over ``id.timestamp.body``, ``whsec_`` key).

    Written here from the spec rather than imported from the hub, so that the hub's verifier
    is checked against an independent implementation.

    Args:
        secret: ``whsec_`` followed by the base64 key.

    Returns:
        A signer producing ``webhook-id``, ``webhook-timestamp`` and ``webhook-signature``.
    """
    key = base64.b64decode(secret.removeprefix("whsec_"))

    def sign(event_id: str, body: bytes, timestamp: int) -> Mapping[str, str]:
        digest = hmac.new(key, f"{event_id}.{timestamp}.".encode() + body, hashlib.sha256)
        encoded = base64.b64encode(digest.digest()).decode()
        return {
            "webhook-id": event_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": f"v1,{encoded}",
        }

    return sign


@dataclass(frozen=True, slots=True)
class OutboundEvent:
    """One event a simulator publishes; ``id`` stays the same on every retry and duplicate."""

    id: str
    type: str
    payload: Mapping[str, Any]


@dataclass(slots=True)
class Subscription:
    """A target URL, its signing secret and the event types it wants (``*`` for all)."""

    id: str
    url: str
    secret: str
    events: frozenset[str] = frozenset({"*"})
    is_enabled: bool = True

    def wants(self, event_type: str) -> bool:
        """True when the subscription is enabled and covers ``event_type``."""
        return self.is_enabled and ("*" in self.events or event_type in self.events)


@dataclass(slots=True)
class _Delivery:
    event: OutboundEvent
    subscription: Subscription
    due_at: float
    attempt: int = 0
    is_duplicate: bool = False


@dataclass(frozen=True, slots=True)
class DeliveryRecord:
    """One attempt, as the operator API reports it (``status`` None when no response)."""

    event_id: str
    event_type: str
    url: str
    attempt: int
    status: int | None
    outcome: str
    is_duplicate: bool
    at: float = field(default_factory=time.time)


class OutboundWebhooks:
    """The outbound queue of one simulator.

    Args:
        injector: The simulator's fault injector (duplicates, reordering, schema drift).
        signer_factory: Builds a signer from a subscription secret.
        client: Sends the deliveries; defaults to a plain ``httpx.Client`` (10 s timeout).
        retry_delays: Seconds before retry 1, 2, ...; after the last, the delivery is abandoned.
        clock: Monotonic seconds.
    """

    def __init__(
        self,
        *,
        injector: FaultInjector,
        signer_factory: SignerFactory,
        client: httpx.Client | None = None,
        retry_delays: Sequence[float] = (1.0, 5.0, 30.0, 120.0),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._injector = injector
        self._signer_factory = signer_factory
        self._client = client
        self.retry_delays = tuple(retry_delays)
        self._clock = clock
        self._lock = threading.RLock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._ids = itertools.count(1)
        self.subscriptions: dict[str, Subscription] = {}
        self.pending: list[_Delivery] = []
        self.log: list[DeliveryRecord] = []

    def reset(self) -> None:
        """Forget subscriptions, pending deliveries and the log."""
        with self._lock:
            self.subscriptions.clear()
            self.pending.clear()
            self.log.clear()

    def subscribe(self, url: str, secret: str, events: Sequence[str] = ("*",)) -> Subscription:
        """Register ``url`` for ``events``; deliveries are signed with ``secret``."""
        with self._lock:
            subscription = Subscription(
                id=f"sub-{next(self._ids)}", url=url, secret=secret, events=frozenset(events)
            )
            self.subscriptions[subscription.id] = subscription
            return subscription

    def unsubscribe(self, subscription_id: str) -> bool:
        """Remove a subscription; False when it did not exist."""
        with self._lock:
            return self.subscriptions.pop(subscription_id, None) is not None

    def emit(
        self, event_type: str, payload: Mapping[str, Any], *, event_id: str | None = None
    ) -> OutboundEvent:
        """Queue ``payload`` for every subscription that wants ``event_type``."""
        event = OutboundEvent(
            id=event_id or f"evt_{uuid.uuid4().hex}", type=event_type, payload=payload
        )
        with self._lock:
            now = self._clock()
            for subscription in self.subscriptions.values():
                if subscription.wants(event_type):
                    self.pending.append(_Delivery(event, subscription, due_at=now))
        self._wake.set()
        return event

    def flush(self, *, force: bool = False) -> list[DeliveryRecord]:
        """Send every due delivery (every pending one with ``force``) once; return the attempts."""
        with self._lock:
            now = self._clock()
            due = [d for d in self.pending if force or d.due_at <= now]
            self.pending = [d for d in self.pending if d not in due]
            if self._injector.plan.reorder_webhooks:
                self._injector.shuffle(due)
        records = [self._attempt(delivery) for delivery in due]
        with self._lock:
            self.log.extend(records)
        return records

    def drain(self, *, max_rounds: int = 20) -> list[DeliveryRecord]:
        """Flush with ``force`` until nothing is pending (or ``max_rounds``); for tests."""
        records: list[DeliveryRecord] = []
        for _ in range(max_rounds):
            if not self.pending:
                break
            records.extend(self.flush(force=True))
        return records

    def _body(self, event: OutboundEvent) -> bytes:
        plan = self._injector.plan
        payload = drift(dict(event.payload), plan) if plan.has_drift else event.payload
        # Compact JSON, signed exactly as sent.
        return json.dumps(payload, separators=(",", ":")).encode()

    def _attempt(self, delivery: _Delivery) -> DeliveryRecord:
        delivery.attempt += 1
        body = self._body(delivery.event)
        signer = self._signer_factory(delivery.subscription.secret)
        headers = {"Content-Type": "application/json"}
        headers.update(signer(delivery.event.id, body, int(time.time())))
        status: int | None = None
        try:
            response = self._http().post(delivery.subscription.url, content=body, headers=headers)
            status = response.status_code
        except httpx.HTTPError as exc:
            outcome = f"error: {type(exc).__name__}"
        else:
            outcome = "delivered" if 200 <= status < 300 else f"refused: {status}"
        self._after(delivery, status)
        return DeliveryRecord(
            event_id=delivery.event.id,
            event_type=delivery.event.type,
            url=delivery.subscription.url,
            attempt=delivery.attempt,
            status=status,
            outcome=outcome,
            is_duplicate=delivery.is_duplicate,
        )

    def _after(self, delivery: _Delivery, status: int | None) -> None:
        with self._lock:
            if status is not None and 200 <= status < 300:
                is_dup = not delivery.is_duplicate and (
                    self._injector.draw() < self._injector.plan.duplicate_webhook_rate
                )
                if is_dup:
                    copy = _Delivery(delivery.event, delivery.subscription, self._clock(), 0, True)
                    self.pending.append(copy)
                return
            if status == 410:  # Standard Webhooks: Gone means stop sending to this endpoint.
                delivery.subscription.is_enabled = False
                return
            if delivery.attempt <= len(self.retry_delays):
                delivery.due_at = self._clock() + self.retry_delays[delivery.attempt - 1]
                self.pending.append(delivery)

    def _http(self) -> httpx.Client:
        if self._client is None:
            self._client = httpx.Client(timeout=10.0)
        return self._client

    def start(self, *, batch_window: float = 0.2) -> None:
        """Deliver in a daemon thread: wait ``batch_window`` to gather a batch, then flush."""
        if self._thread is not None:
            return
        self._stop.clear()

        def run() -> None:
            while not self._stop.is_set():
                self._wake.wait(timeout=0.5)
                self._wake.clear()
                self._stop.wait(batch_window)
                self.flush()

        self._thread = threading.Thread(target=run, name="simulator-webhooks", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the delivery thread, if one runs."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def report(self) -> dict[str, Any]:
        """Subscriptions, pending deliveries and the attempt log, JSON-ready."""
        with self._lock:
            return {
                "subscriptions": [
                    {"id": s.id, "url": s.url, "events": sorted(s.events), "enabled": s.is_enabled}
                    for s in self.subscriptions.values()
                ],
                "pending": [
                    {
                        "event_id": d.event.id,
                        "type": d.event.type,
                        "attempt": d.attempt,
                        "duplicate": d.is_duplicate,
                    }
                    for d in self.pending
                ],
                "log": [_record(record) for record in self.log],
            }


def _record(record: DeliveryRecord) -> dict[str, Any]:
    return {name: getattr(record, name) for name in DeliveryRecord.__slots__}


__all__ = [
    "DeliveryRecord",
    "OutboundEvent",
    "OutboundWebhooks",
    "Signer",
    "SignerFactory",
    "Subscription",
    "standard_webhooks_signer",
]
