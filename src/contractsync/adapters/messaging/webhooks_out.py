"""Outbound webhooks: fan relayed events out to subscribers and POST them, signed, with retries."""

from __future__ import annotations

import random as random_module
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import httpx
from sqlalchemy import Engine

from contractsync.adapters.http import map_transport_errors, parse_retry_after
from contractsync.adapters.messaging.cloudevents import CONTENT_TYPE, encode, from_cloudevent
from contractsync.adapters.messaging.destinations import (
    Destination,
    DestinationPolicy,
    Resolver,
    check_destination,
    system_resolver,
)
from contractsync.adapters.messaging.webhook_retries import (
    RetrySchedule,
    SecretSource,
    secrets_from_reference,
)
from contractsync.adapters.persistence.subscriptions import (
    DeliveryStatus,
    DueDelivery,
    SqlWebhookSubscriptions,
)
from contractsync.adapters.signatures.standard_webhooks import sign
from contractsync.domain.events import BusinessEvent
from contractsync.errors import ContractSyncError, DataError, RejectedError, TransientError
from contractsync.ports.clock import Clock

USER_AGENT = "contractsync-webhooks/1"


class WebhookFanout:
    """An event handler that queues one delivery per active subscription wanting the event.

    Subscribe it to the in-process bus (``"*"``) or run it behind a durable JetStream
    consumer. Idempotent: a redelivered event finds its deliveries queued already. Writes in
    its own short transaction, so the relay must not hold one while publishing (it does not).

    Args:
        engine: The hub database.
        clock: Stamps the deliveries.
    """

    def __init__(self, engine: Engine, clock: Clock) -> None:
        self.engine = engine
        self.clock = clock

    def __call__(self, event: BusinessEvent) -> None:
        """Queue ``event`` for every matching subscriber."""
        with self.engine.begin() as connection:
            subscriptions = SqlWebhookSubscriptions(connection, self.clock)
            for subscription in subscriptions.matching(event.type.value):
                subscriptions.enqueue(subscription.id, event.id)


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    """What one :meth:`WebhookSender.deliver_due` did, by outcome."""

    delivered: int = 0
    retrying: int = 0
    failed: int = 0
    disabled: int = 0


@dataclass(frozen=True, slots=True)
class _Outcome:
    status_code: int | None
    error: str | None
    retry_after: float | None = None
    is_final: bool = False

    @property
    def is_success(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class WebhookSender:
    """POSTs due deliveries as CloudEvents JSON signed per Standard Webhooks.

    Rules (Standard Webhooks sender side): ``webhook-id`` is the event id on every attempt,
    ``webhook-timestamp`` the time of the attempt; only a 2xx counts; redirects are never
    followed (a 3xx is a failure); 410 Gone disables the subscription; every other failure
    (429, 5xx, other 4xx, timeouts, connection errors, a missing secret) is retried on the
    schedule, honouring ``Retry-After``, and the delivery is marked failed (dead, waiting for
    :meth:`SqlWebhookSubscriptions.replay`) once the schedule is used up. A URL refused by
    the SSRF policy, or an unreadable event, fails the delivery at once. The connection goes
    to the address that was checked (pinned), and response bodies are never read.

    Args:
        engine: The hub database.
        clock: Tells ``now`` when :meth:`deliver_due` is called without it.
        policy: Which destinations are allowed.
        schedule: The retry schedule.
        secrets: Resolves a subscription's ``secret_ref``.
        client: The HTTP client; by default one with a 15 s timeout, never following redirects.
        resolver: DNS resolution for the SSRF check.
        random: Jitter source in [0, 1).
        batch: Deliveries claimed per call.
        lease: How long a claimed delivery is hidden from other senders.
    """

    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        *,
        policy: DestinationPolicy | None = None,
        schedule: RetrySchedule | None = None,
        secrets: SecretSource = secrets_from_reference,
        client: httpx.Client | None = None,
        resolver: Resolver = system_resolver,
        random: Callable[[], float] = random_module.random,
        batch: int = 50,
        lease: timedelta = timedelta(minutes=2),
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.policy = policy or DestinationPolicy()
        self.schedule = schedule or RetrySchedule()
        self.secrets = secrets
        self.client = client or httpx.Client(timeout=15.0, follow_redirects=False)
        self.resolver = resolver
        self.random = random
        self.batch = batch
        self.lease = lease

    def close(self) -> None:
        """Close the HTTP client."""
        self.client.close()

    def deliver_due(self, now: datetime | None = None) -> DeliveryReport:
        """Attempt every delivery due by ``now`` (one batch), then record each outcome.

        Returns:
            Counts of delivered, retrying, failed (dead) and disabled-subscription deliveries.
        """
        now = now or self.clock.now()
        with self.engine.begin() as connection:
            due = SqlWebhookSubscriptions(connection, self.clock).claim_due(
                now, limit=self.batch, lease=self.lease
            )
        counts = {"delivered": 0, "retrying": 0, "failed": 0, "disabled": 0}
        for item in due:
            counts[self._record(item, self._attempt(item, now), now)] += 1
        return DeliveryReport(**counts)

    def run(self, stop_event: threading.Event, interval: float = 1.0) -> None:
        """Deliver until ``stop_event`` is set, polling every ``interval`` seconds when idle."""
        while not stop_event.is_set():
            report = self.deliver_due()
            if (
                sum((report.delivered, report.retrying, report.failed, report.disabled))
                < self.batch
            ):
                stop_event.wait(interval)

    def _attempt(self, item: DueDelivery, now: datetime) -> _Outcome:
        subscription = item.subscription
        system = f"webhook subscriber {subscription.id}"
        try:
            destination = check_destination(subscription.url, self.policy, resolver=self.resolver)
            body = encode(from_cloudevent(item.envelope))
            headers = sign(self.secrets(subscription.secret_ref), item.delivery.event_id, now, body)
            headers |= {
                "content-type": CONTENT_TYPE,
                "user-agent": USER_AGENT,
                "host": destination.host_header(),
            }
            status, retry_after = self._post(destination, body, headers, system, now)
        except (RejectedError, DataError) as exc:
            return _Outcome(None, str(exc), is_final=True)
        except ContractSyncError as exc:
            return _Outcome(None, str(exc))
        if 200 <= status < 300:
            return _Outcome(status, None)
        return _Outcome(status, f"{system} answered HTTP {status}", retry_after=retry_after)

    def _post(
        self,
        destination: Destination,
        body: bytes,
        headers: dict[str, str],
        system: str,
        now: datetime,
    ) -> tuple[int, float | None]:
        unreachable: TransientError | None = None
        # Like a browser's fallback across A/AAAA answers, but only over checked addresses.
        for address in destination.addresses:
            try:
                with (
                    map_transport_errors(system, is_write=True),
                    self.client.stream(
                        "POST",
                        destination.pinned_url(address),
                        content=body,
                        headers=headers,
                        extensions=destination.pinned_extensions(),
                        follow_redirects=False,
                    ) as response,
                ):
                    retry_after = parse_retry_after(
                        response.headers.get("retry-after"), now=now.timestamp()
                    )
                    return response.status_code, retry_after
            except TransientError as exc:
                if (
                    exc.code != "remote.unreachable"
                ):  # sent (or half sent): never to a second address
                    raise
                unreachable = exc
        assert unreachable is not None  # check_destination returns at least one address
        raise unreachable

    def _record(self, item: DueDelivery, outcome: _Outcome, now: datetime) -> str:
        attempts = item.delivery.attempts + 1
        delivery = replace(
            item.delivery,
            attempts=attempts,
            last_status_code=outcome.status_code,
            last_error=outcome.error,
            next_attempt_at=None,
        )
        kind = "delivered"
        if outcome.is_success:
            delivery = replace(delivery, status=DeliveryStatus.DELIVERED)
        elif outcome.status_code == 410:
            kind = "disabled"
            delivery = replace(
                delivery,
                status=DeliveryStatus.FAILED,
                last_error="the subscriber answered 410 Gone; the subscription is disabled",
            )
        else:
            wait = None
            if not outcome.is_final:
                wait = self.schedule.delay_after(
                    attempts, retry_after=outcome.retry_after, random=self.random
                )
            kind = "failed" if wait is None else "retrying"
            delivery = replace(
                delivery,
                status=DeliveryStatus.FAILED if wait is None else DeliveryStatus.PENDING,
                next_attempt_at=None if wait is None else now + wait,
            )
        with self.engine.begin() as connection:
            subscriptions = SqlWebhookSubscriptions(connection, self.clock)
            subscriptions.record(delivery)
            if kind == "disabled":
                subscriptions.set_active(item.subscription.id, False)
        return kind


__all__ = ["USER_AGENT", "DeliveryReport", "WebhookFanout", "WebhookSender"]
