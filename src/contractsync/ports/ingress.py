"""The polling ingress port: how the hub reads events from systems that send no webhooks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True, slots=True)
class PolledEvent:
    """One event as a polled source returned it.

    Attributes:
        event_id: The source's id for the event; with the source name, the inbox dedupe key.
            The same fact must keep the same id on every read (re-reads are dropped by it).
        event_type: The source's event type (``time_entry:created``, ``milestone.completed``).
        body: The event exactly as the source described it, as bytes (usually JSON).
        occurred_at: When the source says the event happened (not when it was read).
    """

    event_id: str
    event_type: str
    body: bytes
    occurred_at: datetime


@dataclass(frozen=True, slots=True)
class PolledBatch:
    """One page of a polled feed and where to resume after it.

    Attributes:
        events: The page's events, in whatever order the source gave them; duplicates and
            events already read before are allowed (the inbox drops them).
        next_cursor: The cursor to store once these events are stored; ``None`` keeps the
            cursor the page was read from (nothing new to resume after).
        has_more: True when the source has more events right after ``next_cursor`` now, so
            the caller asks again at once instead of waiting for its next tick.
    """

    events: tuple[PolledEvent, ...]
    next_cursor: str | None
    has_more: bool = False


class Poller(Protocol):
    """A feed of events read by polling (Kantata ``subscribed_events``, saved searches ...).

    Delivery is at least once: a poller may return an event again (pages overlap, the
    source duplicates, the caller crashed before storing its cursor) and in any order. It
    must never skip one: every event after ``cursor`` is returned on some page. A poller
    stores nothing; the caller persists ``next_cursor`` together with the events.
    """

    def poll(self, cursor: str | None, limit: int) -> PolledBatch:
        """Read up to ``limit`` events after ``cursor`` (None: from the feed's beginning).

        ``limit`` is a hint: a source that pages in fixed sizes may return more or fewer.

        Raises:
            TransientError: The source is unavailable or throttling; retry later from the
                same cursor.
            ConfigError: Credentials or settings are wrong.
            DataError: The cursor is no longer valid (expired, beyond retention).
        """
        ...


__all__ = ["PolledBatch", "PolledEvent", "Poller"]
