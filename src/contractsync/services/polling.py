"""Polling ingress: read a feed into the inbox page by page, each page stored with its cursor.

Why it is safe whatever the feed does:

- **One unit per page.** The events of a page and the cursor after them are committed in one
  unit of work. A crash before the commit stores neither, so the next run re-reads the same
  page; a crash after it stores both. The cursor never runs ahead of the stored events.
- **Duplicates and disorder are harmless.** Every event goes through the inbox, unique on
  (source, event id): an event read twice (the source repeats it, pages overlap, a page is
  re-read after a crash) is dropped the second time, and events are stored whatever their
  order. Ordering is the workflows' business (they compare ``occurred-at``), not the feed's.
- **Two pollers of one source never double-advance.** The cursor moves by compare-and-set
  (``PollCursors.advance``) before the page's events are written; the poller that loses
  stores nothing and stops (the winner stored the same events).

Overlap windows, for sources whose cursor is a timestamp (Kantata ``subscribed_events`` with
``created_after``, NetSuite saved searches on ``lastmodifieddate``): such feeds lag (an event
may become visible minutes after the time it carries) and timestamps collide, so reading
strictly after the newest time seen would skip events. Read from ``overlap_start(cursor,
overlap=...)`` instead, a window longer than the source's worst lag, and store the newest
time seen as the next cursor (``timestamp_cursor``): every read repeats the window's events,
and the inbox drops them. Pick a page size well above the number of events one window holds,
or page within the window with the source's own paging: a page made only of events already
seen does not move a timestamp cursor, and the pass then stops where it is.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from contractsync.ports.clock import Clock
from contractsync.ports.ingress import PolledBatch, PolledEvent, Poller
from contractsync.ports.storage import InboxMessage, UnitOfWork
from contractsync.ports.workflows import WorkflowDispatcher
from contractsync.services.ingress import mark_dispatched

OCCURRED_AT_HEADER = "occurred-at"
"""Polled events have no HTTP headers; the inbox keeps the source's event time under this name."""


@dataclass(frozen=True, slots=True)
class PollReport:
    """What one polling pass did.

    Attributes:
        source: The polled source's name.
        cursor_before: The stored cursor when the pass began.
        cursor_after: The stored cursor when it ended (unchanged if nothing was stored).
        pages: Pages read and stored.
        fetched: Events the source returned, duplicates included.
        accepted: Events new to the inbox (stored and dispatched).
        duplicates: Events the inbox already held (dropped).
        dispatch_failed: Accepted events whose workflow did not start; the sweep retries.
        lost_race: Another poller advanced the cursor first; this pass stored nothing of
            the page it had read (the other poller did) and stopped.
        has_more: The pass stopped at its page bound while the source had more.
    """

    source: str
    cursor_before: str | None
    cursor_after: str | None
    pages: int = 0
    fetched: int = 0
    accepted: int = 0
    duplicates: int = 0
    dispatch_failed: int = 0
    lost_race: bool = False
    has_more: bool = False


def poll_once(
    uow_factory: Callable[[], UnitOfWork],
    poller: Poller,
    dispatcher: WorkflowDispatcher,
    clock: Clock,
    *,
    source: str,
    limit: int = 100,
    max_pages: int = 10,
) -> PollReport:
    """Read ``source`` from its stored cursor until it has nothing more, or ``max_pages``.

    Each page is stored in one unit of work with its cursor (see the module doc), then the
    page's new messages are dispatched. The pass stops when a page says nothing more waits,
    when the cursor does not move, after ``max_pages`` pages, or when another poller
    advanced the cursor first.

    Args:
        uow_factory: Builds a fresh unit of work (one per transaction).
        poller: The source's feed.
        dispatcher: Starts the workflow of each newly stored message.
        clock: Gives the receive time.
        source: The source name (the inbox's and the cursor's key).
        limit: Events asked for per page.
        max_pages: Pages read at most in this pass (the next pass continues).

    Returns:
        The counts and cursors of the pass.

    Raises:
        TransientError: The poller could not read a page. Pages stored before it stay
            stored with their cursor; the failed page is re-read next time.
        ContractSyncError: Whatever the poller or the storage raise; an uncommitted page is
            simply re-read by the next pass.
    """
    with uow_factory() as uow:
        start = uow.cursors.get(source)
    cursor = start
    totals = {"pages": 0, "fetched": 0, "accepted": 0, "duplicates": 0, "dispatch_failed": 0}
    lost_race = has_more = False
    for _ in range(max_pages):
        batch = poller.poll(cursor, limit)
        stored = _store_page(uow_factory(), clock, source=source, batch=batch, expected=cursor)
        if stored is None:
            lost_race = True
            break
        totals["pages"] += 1
        totals["fetched"] += len(batch.events)
        totals["accepted"] += len(stored)
        totals["duplicates"] += len(batch.events) - len(stored)
        totals["dispatch_failed"] += _dispatch(uow_factory, dispatcher, stored)
        moved = batch.next_cursor is not None and batch.next_cursor != cursor
        cursor = batch.next_cursor if moved else cursor
        has_more = batch.has_more and moved
        if not has_more:
            break
    return PollReport(source, start, cursor, lost_race=lost_race, has_more=has_more, **totals)


def _store_page(
    uow: UnitOfWork, clock: Clock, *, source: str, batch: PolledBatch, expected: str | None
) -> list[InboxMessage] | None:
    """Store a page's new events and its cursor in one unit; None if the cursor had moved."""
    received_at = clock.now()
    accepted: list[InboxMessage] = []
    with uow:
        # The cursor moves first: a racing poller blocks here on the row, then finds it
        # changed and writes nothing, instead of inserting events it would then roll back.
        target = batch.next_cursor
        if (
            target is not None
            and target != expected
            and not uow.cursors.advance(source, target, expected=expected)
        ):
            return None
        for event in batch.events:
            message = _message(source, event, received_at)
            if uow.inbox.add(message):
                accepted.append(message)
        uow.commit()
    return accepted


def _message(source: str, event: PolledEvent, received_at: datetime) -> InboxMessage:
    return InboxMessage(
        id=str(uuid.uuid4()),
        source=source,
        event_id=event.event_id,
        event_type=event.event_type,
        received_at=received_at,
        headers={OCCURRED_AT_HEADER: event.occurred_at.isoformat()},
        body=event.body,
    )


def _dispatch(
    uow_factory: Callable[[], UnitOfWork],
    dispatcher: WorkflowDispatcher,
    messages: Sequence[InboxMessage],
) -> int:
    failed = 0
    for message in messages:
        try:
            mark_dispatched(uow_factory(), dispatcher, message)
        # The message is stored; a dispatch that fails now is retried by the dispatch sweep,
        # and must not keep the rest of the page (or the next page) from being read.
        except Exception:  # noqa: BLE001 - counted in the report, retried by the sweep
            failed += 1
    return failed


def overlap_start(cursor: str | None, *, overlap: timedelta) -> datetime | None:
    """Where to re-read a timestamp-cursored feed from: ``overlap`` before the cursor.

    Args:
        cursor: The stored cursor, an ISO 8601 instant with its offset (or None).
        overlap: How far to re-read; longer than the source's worst lag.

    Returns:
        The instant to ask the source for events created after; None to read from the start.

    Raises:
        ValueError: The cursor is not an ISO 8601 instant with an offset.
    """
    if cursor is None:
        return None
    at = datetime.fromisoformat(cursor)
    if at.tzinfo is None:
        raise ValueError(f"timestamp cursor {cursor!r} has no UTC offset")
    return at - overlap


def timestamp_cursor(events: Sequence[PolledEvent], *, previous: str | None) -> str | None:
    """The cursor after a page of a timestamp-cursored feed: the newest event time seen.

    Never moves backwards: a page holding only older, late-arriving events keeps
    ``previous``.

    Args:
        events: The page's events.
        previous: The cursor the page was read from.

    Returns:
        An ISO 8601 instant, or ``previous`` when no event is newer (None if both are none).
    """
    newest = max((event.occurred_at for event in events), default=None)
    if newest is None:
        return previous
    if previous is not None and datetime.fromisoformat(previous) >= newest:
        return previous
    return newest.isoformat()


__all__ = [
    "OCCURRED_AT_HEADER",
    "PollReport",
    "overlap_start",
    "poll_once",
    "timestamp_cursor",
]
