"""Turns any ``poll_events``-style feed (cursor and limit in, a Page out) into a Poller.

Kantata is the first such feed: ``KantataProjectTracker.poll_events`` keeps its own overlap
window and seen-id horizon in its cursor, and ``bootstrap.build_poller`` wraps it here for
every ``ingress.pollers`` entry. This module is vendor-neutral on purpose (written before the
Kantata adapter existed), so a NetSuite saved-search feed plugs in the same way.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Generic, Protocol, TypeVar

from contractsync.ports.ingress import PolledBatch, PolledEvent
from contractsync.ports.systems import Page, TrackerEvent

T = TypeVar("T")


class EventFeed(Protocol[T]):
    """Anything read like ``ProjectTracker.poll_events``: keyword cursor and limit, a Page out."""

    def __call__(self, *, cursor: str | None, limit: int) -> Page[T]:
        """Read up to ``limit`` items after ``cursor``."""
        ...


class PollableTracker(Protocol):
    """The part of ``ProjectTracker`` a poller needs."""

    def poll_events(self, *, cursor: str | None, limit: int) -> Page[TrackerEvent]:
        """Events after ``cursor``."""
        ...


def tracker_event(event: TrackerEvent) -> PolledEvent:
    """A PSA feed event as the inbox stores it: its type is ``kind``, its body canonical JSON.

    Args:
        event: One event of ``ProjectTracker.poll_events``.

    Returns:
        The polled event; the body holds every field, ``occurred_at`` included.
    """
    body = json.dumps(event.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return PolledEvent(
        event_id=event.event_id,
        event_type=event.kind,
        body=body.encode("utf-8"),
        occurred_at=event.occurred_at,
    )


class FeedPoller(Generic[T]):
    """A :class:`~contractsync.ports.ingress.Poller` over a paged feed function.

    The feed's ``next_cursor`` is where to resume (``None``: nothing after the given
    cursor). Whether more waits is not part of a ``Page``, so a full page (``limit`` items
    or more) counts as "more waits" and a shorter one as "caught up"; at worst one extra,
    empty read follows a page that happened to be exactly full.

    Args:
        feed: Reads a page after a cursor (``tracker.poll_events``); its errors propagate.
        describe: Turns one feed item into the event the inbox stores.
    """

    def __init__(self, feed: EventFeed[T], describe: Callable[[T], PolledEvent]) -> None:
        self._feed = feed
        self._describe = describe

    @classmethod
    def of_tracker(cls, tracker: PollableTracker) -> FeedPoller[TrackerEvent]:
        """The poller of a PSA's event feed (``ProjectTracker.poll_events``)."""
        return FeedPoller(tracker.poll_events, tracker_event)

    def poll(self, cursor: str | None, limit: int) -> PolledBatch:
        """Read one page after ``cursor`` (see the class doc for ``has_more``).

        Raises:
            ContractSyncError: Whatever the feed raises (TransientError to retry later).
        """
        page = self._feed(cursor=cursor, limit=limit)
        return PolledBatch(
            events=tuple(self._describe(item) for item in page.items),
            next_cursor=page.next_cursor,
            has_more=page.next_cursor is not None and len(page.items) >= limit,
        )


__all__ = ["EventFeed", "FeedPoller", "PollableTracker", "tracker_event"]
