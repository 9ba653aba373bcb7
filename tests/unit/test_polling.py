"""The polling ingress on the in-memory unit of work: every event once, the cursor with its events."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest

from contractsync.adapters.ingress.dispatch import PendingDispatcher
from contractsync.errors import TransientError
from contractsync.ports.ingress import PolledBatch, PolledEvent
from contractsync.ports.storage import InboxStatus
from contractsync.services.polling import (
    OCCURRED_AT_HEADER,
    overlap_start,
    poll_once,
    timestamp_cursor,
)
from contractsync.testing.fake_poller import T0, ScriptedFeed, feed_events
from contractsync.testing.fakes import (
    FixedClock,
    InMemoryStore,
    InMemoryUnitOfWork,
    RecordingDispatcher,
)

SOURCE = "kantata"


class SimulatedCrashError(Exception):
    """The process died: nothing after this point happened."""


class CrashingUnitOfWork(InMemoryUnitOfWork):
    """An in-memory unit that dies instead of committing a unit storing a doomed event."""

    def __init__(self, store: InMemoryStore, clock: FixedClock, doomed: set[str]) -> None:
        super().__init__(store, clock)
        self.doomed = doomed

    def commit(self) -> None:
        """Raise SimulatedCrashError (once) if this unit would store a doomed event."""
        new = [m for m in self.working_state().inbox.values() if m.id not in self.store.inbox]
        if any(m.event_id in self.doomed for m in new):
            self.doomed.clear()
            raise SimulatedCrashError
        super().commit()


class Hub:
    """The in-memory hub a poller writes to: one store, its clock and a recording dispatcher."""

    def __init__(self) -> None:
        self.store = InMemoryStore()
        self.clock = FixedClock(T0 + timedelta(days=1))
        self.dispatcher = RecordingDispatcher()
        self.doomed: set[str] = set()

    def unit(self) -> InMemoryUnitOfWork:
        return CrashingUnitOfWork(self.store, self.clock, self.doomed)

    def cursor(self) -> str | None:
        return self.store.cursors.get(SOURCE)

    def stored_ids(self) -> list[str]:
        return sorted(m.event_id for m in self.store.inbox.values())


@pytest.fixture
def hub() -> Hub:
    return Hub()


def test_every_event_of_a_feed_with_duplicates_and_disorder_is_stored_exactly_once(
    hub: Hub,
) -> None:
    """Overlapping, repeating, shuffled pages: 25 events, 25 messages, 25 workflows."""
    events = feed_events(25)
    feed = ScriptedFeed(events, overlap=3, repeat_every=4)
    report = poll_once(
        hub.unit, feed, hub.dispatcher, hub.clock, source=SOURCE, limit=10, max_pages=10
    )
    assert hub.stored_ids() == [e.event_id for e in events]
    assert report.accepted == 25
    assert report.pages == 3
    assert report.fetched > 25
    assert report.duplicates == report.fetched - 25
    assert (report.cursor_before, report.cursor_after, hub.cursor()) == (None, "25", "25")
    assert set(hub.dispatcher.calls_per_workflow().values()) == {1}
    assert len(hub.dispatcher.started) == 25
    stored = next(m for m in hub.store.inbox.values() if m.event_id == "evt-0007")
    assert stored.body == events[7].body
    assert stored.event_type == "time_entry:created"
    assert stored.headers == {OCCURRED_AT_HEADER: events[7].occurred_at.isoformat()}
    assert stored.status is InboxStatus.DISPATCHED


def test_polling_again_after_catching_up_stores_nothing_new(hub: Hub) -> None:
    """A second pass re-reads the overlap only; every event it sees is a duplicate."""
    feed = ScriptedFeed(feed_events(12), overlap=5)
    poll_once(hub.unit, feed, hub.dispatcher, hub.clock, source=SOURCE, limit=20)
    again = poll_once(hub.unit, feed, hub.dispatcher, hub.clock, source=SOURCE, limit=20)
    assert (again.fetched, again.accepted, again.duplicates) == (5, 0, 5)
    assert again.cursor_before == again.cursor_after == "12"
    assert len(hub.dispatcher.calls) == 12


def test_a_crash_between_fetch_and_commit_loses_nothing_and_the_rerun_stores_each_event_once(
    hub: Hub,
) -> None:
    """The page that died is neither stored nor counted by the cursor; the re-run re-reads it."""
    events = feed_events(30)
    feed = ScriptedFeed(events, overlap=2, repeat_every=3)
    hub.doomed.add("evt-0015")  # on the second page (cursor 10 -> 20)
    with pytest.raises(SimulatedCrashError):
        poll_once(hub.unit, feed, hub.dispatcher, hub.clock, source=SOURCE, limit=10)
    assert hub.cursor() == "10"
    assert hub.stored_ids() == [e.event_id for e in events[:10]]

    report = poll_once(hub.unit, feed, hub.dispatcher, hub.clock, source=SOURCE, limit=10)
    assert report.cursor_before == "10"
    assert report.cursor_after == "30"
    assert hub.stored_ids() == [e.event_id for e in events]
    assert set(hub.dispatcher.calls_per_workflow().values()) == {1}
    assert feed.reads == [None, "10", "10", "20"]


def test_a_transient_error_from_the_poller_leaves_the_cursor_untouched(hub: Hub) -> None:
    """A first read that fails stores nothing; a later one keeps the pages before it."""
    feed = ScriptedFeed(feed_events(25))
    feed.failures.append(TransientError("429 Too Many Requests", retry_after=2.0))
    with pytest.raises(TransientError):
        poll_once(hub.unit, feed, hub.dispatcher, hub.clock, source=SOURCE, limit=10)
    assert hub.cursor() is None
    assert hub.stored_ids() == []

    class FailsSecondPage(ScriptedFeed):
        def poll(self, cursor: str | None, limit: int) -> PolledBatch:
            if cursor == "10":
                raise TransientError("503 Service Unavailable")
            return super().poll(cursor, limit)

    failing = FailsSecondPage(feed_events(25))
    with pytest.raises(TransientError):
        poll_once(hub.unit, failing, hub.dispatcher, hub.clock, source=SOURCE, limit=10)
    assert hub.cursor() == "10"
    assert len(hub.stored_ids()) == 10


def test_a_pass_stops_at_its_page_bound_and_the_next_pass_continues_from_its_cursor(
    hub: Hub,
) -> None:
    """max_pages bounds one pass; has_more tells the runner to come back at once."""
    feed = ScriptedFeed(feed_events(50))
    first = poll_once(
        hub.unit, feed, hub.dispatcher, hub.clock, source=SOURCE, limit=10, max_pages=2
    )
    assert (first.pages, first.cursor_after, first.has_more) == (2, "20", True)
    rest = poll_once(
        hub.unit, feed, hub.dispatcher, hub.clock, source=SOURCE, limit=10, max_pages=5
    )
    assert (rest.pages, rest.cursor_after, rest.has_more) == (3, "50", False)
    assert len(hub.stored_ids()) == 50


def test_a_source_that_keeps_its_cursor_ends_the_pass_instead_of_looping(hub: Hub) -> None:
    """A page that says "more" without moving the cursor is read once, not forever."""

    class Stuck:
        reads = 0

        def poll(self, cursor: str | None, limit: int) -> PolledBatch:
            Stuck.reads += 1
            return PolledBatch(feed_events(3), next_cursor=None, has_more=True)

    report = poll_once(hub.unit, Stuck(), hub.dispatcher, hub.clock, source=SOURCE)
    assert (Stuck.reads, report.accepted, report.cursor_after, hub.cursor()) == (1, 3, None, None)


def test_messages_whose_workflow_cannot_start_yet_stay_received_for_the_sweep(hub: Hub) -> None:
    """Storing does not depend on dispatching: the sweep starts them later."""
    report = poll_once(
        hub.unit, ScriptedFeed(feed_events(4)), PendingDispatcher(), hub.clock, source=SOURCE
    )
    assert (report.accepted, report.dispatch_failed, hub.cursor()) == (4, 4, "4")
    assert {m.status for m in hub.store.inbox.values()} == {InboxStatus.RECEIVED}


def test_two_pollers_racing_on_one_source_advance_the_cursor_once_and_store_each_event_once(
    hub: Hub,
) -> None:
    """Both read the same page; the compare-and-set lets one store it, the other stops."""
    barrier = threading.Barrier(2)
    feed = ScriptedFeed(feed_events(8), before_serving=lambda _: barrier.wait(5))
    reports = []

    def run() -> None:
        reports.append(poll_once(hub.unit, feed, hub.dispatcher, hub.clock, source=SOURCE))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert sorted(r.lost_race for r in reports) == [False, True]
    assert sorted(r.accepted for r in reports) == [0, 8]
    assert hub.cursor() == "8"
    assert len(hub.stored_ids()) == 8


class LaggingFeed:
    """A Kantata-style feed read by ``created_after``: events become visible minutes late."""

    def __init__(self, overlap: timedelta) -> None:
        self.overlap = overlap
        self.visible: list[PolledEvent] = []

    def poll(self, cursor: str | None, limit: int) -> PolledBatch:
        since = overlap_start(cursor, overlap=self.overlap)
        found = sorted(
            (e for e in self.visible if since is None or e.occurred_at > since),
            key=lambda e: e.occurred_at,
        )[:limit]
        return PolledBatch(tuple(found), timestamp_cursor(found, previous=cursor))


def _at(minute: int, name: str) -> PolledEvent:
    return PolledEvent(name, "time_entry:updated", b"{}", T0 + timedelta(minutes=minute))


@pytest.mark.parametrize(("overlap_minutes", "is_late_event_stored"), [(10, True), (0, False)])
def test_an_overlap_window_catches_an_event_that_became_visible_late(
    hub: Hub, overlap_minutes: int, is_late_event_stored: bool
) -> None:
    """Re-reading 10 minutes behind a timestamp cursor finds a late event; no overlap misses it."""
    feed = LaggingFeed(timedelta(minutes=overlap_minutes))
    feed.visible += [_at(0, "a"), _at(5, "b")]
    poll_once(hub.unit, feed, hub.dispatcher, hub.clock, source=SOURCE)
    feed.visible += [_at(3, "late"), _at(7, "c")]
    report = poll_once(hub.unit, feed, hub.dispatcher, hub.clock, source=SOURCE)
    assert ("late" in hub.stored_ids()) is is_late_event_stored
    assert report.cursor_after == hub.cursor() == (T0 + timedelta(minutes=7)).isoformat()
    assert set(hub.dispatcher.calls_per_workflow().values()) == {1}


def test_a_timestamp_cursor_never_moves_backwards_and_needs_an_offset() -> None:
    """Late events older than the cursor keep it; a naive timestamp is refused."""
    newest = (T0 + timedelta(minutes=9)).isoformat()
    assert timestamp_cursor([_at(2, "old")], previous=newest) == newest
    assert timestamp_cursor([], previous=None) is None
    assert (
        timestamp_cursor([_at(2, "x"), _at(4, "y")], previous=None)
        == _at(4, "y").occurred_at.isoformat()
    )
    assert overlap_start(newest, overlap=timedelta(minutes=9)) == T0
    assert overlap_start(None, overlap=timedelta(minutes=9)) is None
    with pytest.raises(ValueError, match="offset"):
        overlap_start(datetime(2026, 3, 2, 9, 0).isoformat(), overlap=timedelta(minutes=1))
