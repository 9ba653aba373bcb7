"""Outbound webhook subscriptions and their per-event delivery state (SQLAlchemy Core)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, Row, select, update

from contractsync.adapters.persistence.dialect import insert_unless_exists
from contractsync.adapters.persistence.tables import (
    outbox,
    webhook_deliveries,
    webhook_subscriptions,
)
from contractsync.ports.clock import Clock

ALL_EVENTS = "*"
"""An ``event_types`` entry that subscribes to every event type."""


class DeliveryStatus(StrEnum):
    """pending -> delivered | failed (dead, waiting for a manual replay)."""

    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class WebhookSubscription:
    """A subscriber receiving our events as signed Standard Webhooks.

    Attributes:
        id: Stable subscription id.
        url: Where events are POSTed (checked against SSRF on every delivery).
        secret_ref: Environment variable (``NAME`` or ``env:NAME``) or ``file:/path`` holding
            the ``whsec_`` secret; several secrets separated by spaces sign side by side
            during a rotation. The secret itself is never stored here.
        event_types: Event types delivered, or ``("*",)`` for all.
        active: False once disabled (the subscriber answered 410 Gone, or an operator).
        created_at: When it was registered.
    """

    id: str
    url: str
    secret_ref: str
    event_types: tuple[str, ...] = (ALL_EVENTS,)
    active: bool = True
    created_at: datetime | None = None

    def wants(self, event_type: str) -> bool:
        """True when events of ``event_type`` go to this subscriber."""
        return ALL_EVENTS in self.event_types or event_type in self.event_types


@dataclass(frozen=True, slots=True)
class WebhookDelivery:
    """Where the delivery of one event to one subscriber stands."""

    subscription_id: str
    event_id: str
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class DueDelivery:
    """A claimed delivery with what is needed to send it."""

    delivery: WebhookDelivery
    subscription: WebhookSubscription
    envelope: dict[str, Any]
    """The event's CloudEvents envelope, as the outbox stored it."""


class SqlWebhookSubscriptions:
    """Subscriptions and deliveries on ``webhook_subscriptions`` and ``webhook_deliveries``.

    Works inside the caller's transaction (it never commits). Deliveries reference outbox
    rows by event id, so the event body is read from the outbox, never copied.

    Args:
        connection: An open connection; the caller commits.
        clock: Stamps ``created_at`` and ``updated_at``.
    """

    def __init__(self, connection: Connection, clock: Clock) -> None:
        self._connection = connection
        self._clock = clock

    def add(self, subscription: WebhookSubscription) -> bool:
        """Register ``subscription``; False (and nothing changed) if its id exists."""
        values = {
            "id": subscription.id,
            "url": subscription.url,
            "secret_ref": subscription.secret_ref,
            "event_types": list(subscription.event_types),
            "active": subscription.active,
            "created_at": subscription.created_at or self._clock.now(),
        }
        return insert_unless_exists(self._connection, webhook_subscriptions, values, key=("id",))

    def get(self, subscription_id: str) -> WebhookSubscription | None:
        """The subscription with ``subscription_id``."""
        query = select(webhook_subscriptions).where(webhook_subscriptions.c.id == subscription_id)
        row = self._connection.execute(query).first()
        return _subscription(row) if row else None

    def list(self, *, active_only: bool = False) -> Sequence[WebhookSubscription]:
        """Every subscription (only active ones if asked), by id."""
        query = select(webhook_subscriptions).order_by(webhook_subscriptions.c.id)
        if active_only:
            query = query.where(webhook_subscriptions.c.active.is_(True))
        return [_subscription(row) for row in self._connection.execute(query)]

    def set_active(self, subscription_id: str, active: bool) -> None:
        """Enable or disable a subscription; deliveries to a disabled one wait, unsent."""
        self._connection.execute(
            update(webhook_subscriptions)
            .where(webhook_subscriptions.c.id == subscription_id)
            .values(active=active)
        )

    def matching(self, event_type: str) -> Sequence[WebhookSubscription]:
        """Active subscriptions that want events of ``event_type``."""
        return [s for s in self.list(active_only=True) if s.wants(event_type)]

    def enqueue(self, subscription_id: str, event_id: str) -> bool:
        """Create the pending delivery of an event, due now; False if it exists already."""
        now = self._clock.now()
        values = {
            "subscription_id": subscription_id,
            "event_id": event_id,
            "status": DeliveryStatus.PENDING.value,
            "attempts": 0,
            "next_attempt_at": now,
            "updated_at": now,
        }
        return insert_unless_exists(
            self._connection, webhook_deliveries, values, key=("subscription_id", "event_id")
        )

    def claim_due(self, now: datetime, *, limit: int, lease: timedelta) -> Sequence[DueDelivery]:
        """Claim pending deliveries due by ``now`` to active subscribers, oldest due first.

        A claimed delivery's next attempt moves to ``now + lease``: another sender skips it,
        and if this one dies mid-send it is due again once the lease runs out. The claim is
        a compare-and-set on the due time, so two senders never claim one delivery.
        """
        d, s = webhook_deliveries.c, webhook_subscriptions.c
        query = (
            select(webhook_deliveries, webhook_subscriptions, outbox.c.envelope)
            .join(webhook_subscriptions, s.id == d.subscription_id)
            .join(outbox, outbox.c.event_id == d.event_id)
            .where(
                d.status == DeliveryStatus.PENDING.value,
                d.next_attempt_at <= now,
                s.active.is_(True),
            )
            .order_by(d.next_attempt_at, d.event_id)
            .limit(limit)
        )
        claimed: list[DueDelivery] = []
        for row in self._connection.execute(query).all():
            result = self._connection.execute(
                update(webhook_deliveries)
                .where(
                    d.subscription_id == row.subscription_id,
                    d.event_id == row.event_id,
                    d.next_attempt_at == row.next_attempt_at,
                )
                .values(next_attempt_at=now + lease)
            )
            if result.rowcount == 1:
                claimed.append(DueDelivery(_delivery(row), _subscription(row), row.envelope))
        return claimed

    def record(self, delivery: WebhookDelivery) -> None:
        """Store the outcome of an attempt (status, attempts, next due time, last result)."""
        d = webhook_deliveries.c
        self._connection.execute(
            update(webhook_deliveries)
            .where(d.subscription_id == delivery.subscription_id, d.event_id == delivery.event_id)
            .values(
                status=delivery.status.value,
                attempts=delivery.attempts,
                next_attempt_at=delivery.next_attempt_at,
                last_status_code=delivery.last_status_code,
                last_error=delivery.last_error,
                updated_at=self._clock.now(),
            )
        )

    def deliveries(
        self,
        *,
        subscription_id: str | None = None,
        event_id: str | None = None,
        status: DeliveryStatus | None = None,
    ) -> Sequence[WebhookDelivery]:
        """Deliveries matching every given filter, by subscription then event id."""
        d = webhook_deliveries.c
        query = select(webhook_deliveries).order_by(d.subscription_id, d.event_id)
        if subscription_id is not None:
            query = query.where(d.subscription_id == subscription_id)
        if event_id is not None:
            query = query.where(d.event_id == event_id)
        if status is not None:
            query = query.where(d.status == status.value)
        return [_delivery(row) for row in self._connection.execute(query)]

    def replay(self, *, subscription_id: str | None = None, event_id: str | None = None) -> int:
        """Make failed (dead) deliveries pending again, due now, with a fresh retry schedule.

        Returns:
            How many deliveries were re-queued.
        """
        d = webhook_deliveries.c
        now = self._clock.now()
        statement = update(webhook_deliveries).where(d.status == DeliveryStatus.FAILED.value)
        if subscription_id is not None:
            statement = statement.where(d.subscription_id == subscription_id)
        if event_id is not None:
            statement = statement.where(d.event_id == event_id)
        result = self._connection.execute(
            statement.values(
                status=DeliveryStatus.PENDING.value, attempts=0, next_attempt_at=now, updated_at=now
            )
        )
        return int(result.rowcount)


def _subscription(row: Row[Any]) -> WebhookSubscription:
    return WebhookSubscription(
        id=row.id,
        url=row.url,
        secret_ref=row.secret_ref,
        event_types=tuple(row.event_types),
        active=bool(row.active),
        created_at=row.created_at,
    )


def _delivery(row: Row[Any]) -> WebhookDelivery:
    return WebhookDelivery(
        subscription_id=row.subscription_id,
        event_id=row.event_id,
        status=DeliveryStatus(row.status),
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        last_status_code=row.last_status_code,
        last_error=row.last_error,
        updated_at=row.updated_at,
    )


__all__ = [
    "ALL_EVENTS",
    "DeliveryStatus",
    "DueDelivery",
    "SqlWebhookSubscriptions",
    "WebhookDelivery",
    "WebhookSubscription",
]
