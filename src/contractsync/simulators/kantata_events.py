"""Kantata's ``subscribed_events`` feed: retention, duplicates, out-of-order generation and lag.

``reference/vendors.md`` §5.1 and the vendor's Events page: events are pulled, kept for 9
days, "may take some time to appear", "may sometimes be duplicated", and "are not
guaranteed to appear in the exact order the changes were completed" (``created_at`` is the
generation time and can differ from ``subject_changed_at``). The feed models each of those,
drawn from the simulator's seeded fault sequence so a run is reproducible:

- generation lag: ``created_at = subject_changed_at + U(0, max_generation_lag_seconds)``;
- visibility lag: an event is served only from ``created_at + U(0, max_visibility_lag_seconds)``
  on, so a poll can miss an event whose ``created_at`` is older than what it already saw;
- duplicates: with ``duplicate_rate`` a second copy (same id, or a new one) appears later;
- reordering: each page's ``results`` are shuffled.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

DAY = 86_400.0


class EventDelivery(BaseModel):
    """How the feed misbehaves; changeable through the ``set_event_delivery`` scenario."""

    model_config = ConfigDict(extra="forbid")

    duplicate_rate: float = Field(default=0.0, ge=0, le=1)
    duplicates_get_new_ids: bool = Field(
        default=False, description="[U] whether a duplicate carries its own event id."
    )
    max_generation_lag_seconds: float = Field(default=0.0, ge=0)
    max_visibility_lag_seconds: float = Field(default=0.0, ge=0)
    reorder: bool = False
    retention_days: float = Field(default=9.0, gt=0, description="Kantata: 9 (older docs: 7).")
    payloads_as_strings: bool = Field(
        default=True, description="[I] payloads are JSON text, per the documented schema."
    )
    enabled: bool = Field(default=True, description="The Subscribed Events add-on (else 403).")


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """One served copy of an event."""

    id: str
    created_at: float
    visible_at: float
    body: dict[str, Any]


def iso(seconds: float) -> str:
    """UTC ISO 8601 with a ``Z``, as Kantata writes times."""
    return dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> float:
    """Unix seconds of an ISO 8601 time (``Z`` or an offset; naive means UTC).

    Raises:
        ValueError: The text is not ISO 8601.
    """
    when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return (when if when.tzinfo else when.replace(tzinfo=dt.UTC)).timestamp()


class EventFeed:
    """The account's recorded changes.

    Args:
        account_id: Carried in every event.
        delivery: The initial delivery behaviour.
        draw: A seeded uniform [0, 1) source.
        clock: Unix seconds (the simulator's clock, which an operator can advance).
    """

    def __init__(
        self,
        *,
        account_id: int,
        delivery: EventDelivery,
        draw: Callable[[], float],
        clock: Callable[[], float],
    ) -> None:
        self.account_id = account_id
        self._initial = delivery
        self.draw = draw
        self.clock = clock
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        """No events; the initial delivery behaviour."""
        with self._lock:
            self.delivery = self._initial.model_copy()
            self.events: list[StoredEvent] = []
            self._next = 1

    def _payload(self, value: Mapping[str, Any] | None) -> Any:
        if value is None:
            return None
        return (
            json.dumps(value, sort_keys=True) if self.delivery.payloads_as_strings else dict(value)
        )

    def publish(
        self,
        event_type: str,
        *,
        subject_type: str,
        subject_id: str,
        before: Mapping[str, Any] | None,
        after: Mapping[str, Any] | None,
        user_id: int,
    ) -> str:
        """Record one change; return its event id (a duplicate, if drawn, follows later)."""
        with self._lock:
            changed = self.clock()
            delivery = self.delivery
            previous, current = dict(before or {}), dict(after or {})
            changes = {
                k: [previous.get(k), current.get(k)]
                for k in sorted(set(previous) | set(current))
                if previous.get(k) != current.get(k) and k != "updated_at"
            }
            created = changed + self.draw() * delivery.max_generation_lag_seconds
            body = {
                "account_id": self.account_id,
                "created_at": iso(created),
                "current_payload": self._payload(after),
                "previous_payload": self._payload(before),
                "payload_changes": self._payload(changes),
                "event_type": event_type,
                "subject_changed_at": iso(changed),
                "subject_id": int(subject_id),
                "subject_type": subject_type,
                "user_id": user_id,
            }
            event_id = str(self._next)
            self._next += 1
            visible = created + self.draw() * delivery.max_visibility_lag_seconds
            self.events.append(StoredEvent(event_id, created, visible, body))
            if self.draw() < delivery.duplicate_rate:
                copy_id = event_id
                if delivery.duplicates_get_new_ids:
                    copy_id = str(self._next)
                    self._next += 1
                later = visible + self.draw() * max(delivery.max_visibility_lag_seconds, 60.0)
                self.events.append(StoredEvent(copy_id, created, later, body))
            return event_id

    def query(
        self,
        *,
        created_after: float | None,
        created_before: float | None,
        event_types: frozenset[str] | None,
    ) -> list[StoredEvent]:
        """The served copies matching the filters, oldest ``created_at`` first."""
        now = self.clock()
        horizon = now - self.delivery.retention_days * DAY
        with self._lock:
            self.events = [e for e in self.events if e.created_at >= horizon]
            rows = [
                e
                for e in self.events
                if e.visible_at <= now
                and (created_after is None or e.created_at > created_after)
                and (created_before is None or e.created_at < created_before)
                and (event_types is None or e.body["event_type"] in event_types)
            ]
        return sorted(rows, key=lambda e: (e.created_at, int(e.id)))

    def shuffled(self, rows: list[StoredEvent]) -> list[StoredEvent]:
        """``rows`` reordered when the delivery says so (a seeded Fisher-Yates shuffle)."""
        if not self.delivery.reorder:
            return rows
        out = list(rows)
        for i in range(len(out) - 1, 0, -1):
            j = int(self.draw() * (i + 1))
            out[i], out[j] = out[j], out[i]
        return out

    def dump(self) -> list[dict[str, Any]]:
        """Every stored copy, JSON-ready."""
        with self._lock:
            return [{"id": e.id, "visible_at": iso(e.visible_at), **e.body} for e in self.events]


__all__ = ["DAY", "EventDelivery", "EventFeed", "StoredEvent", "iso", "parse_time"]
