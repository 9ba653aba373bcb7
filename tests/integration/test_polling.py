"""The polling ingress on SQLite and the real PostgreSQL: restarts, crashes and racing pollers."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from contractsync.adapters.persistence.engine import create_engine_for
from contractsync.adapters.persistence.tables import inbox, poll_cursors
from contractsync.adapters.persistence.unit_of_work import SqlUnitOfWork
from contractsync.services.polling import PollReport, poll_once
from contractsync.testing.fake_poller import T0, ScriptedFeed, feed_events
from contractsync.testing.fakes import FixedClock, RecordingDispatcher

SOURCE = "kantata"


class CrashError(Exception):
    """The process died before its commit."""


class CrashingUnit(SqlUnitOfWork):
    """A SQL unit of work that dies instead of committing while ``armed`` is set."""

    armed = threading.Event()

    def commit(self) -> None:
        """Raise CrashError (once) instead of committing when armed."""
        if CrashingUnit.armed.is_set():
            CrashingUnit.armed.clear()
            raise CrashError
        super().commit()


def _stored(engine: Engine) -> tuple[int, int, str | None]:
    """(messages, distinct event ids, cursor) as the database holds them."""
    with engine.connect() as connection:
        count = connection.execute(select(func.count()).select_from(inbox)).scalar_one()
        distinct = connection.execute(
            select(func.count(func.distinct(inbox.c.event_id))).where(inbox.c.source == SOURCE)
        ).scalar_one()
        cursor = connection.execute(
            select(poll_cursors.c.cursor).where(poll_cursors.c.source == SOURCE)
        ).scalar_one_or_none()
    return count, distinct, cursor


def test_the_cursor_survives_a_restart_and_the_next_process_resumes_after_it(
    database_url: str,
) -> None:
    """A new engine (a restarted process) reads on from the stored cursor, not the start."""
    clock, dispatcher = FixedClock(T0), RecordingDispatcher()
    feed = ScriptedFeed(feed_events(40), overlap=2, repeat_every=5)
    first_engine = create_engine_for(database_url)
    try:
        first = poll_once(
            lambda: SqlUnitOfWork(first_engine, clock),
            feed,
            dispatcher,
            clock,
            source=SOURCE,
            limit=10,
            max_pages=2,
        )
    finally:
        first_engine.dispose()
    assert (first.cursor_after, first.has_more) == ("20", True)

    restarted = create_engine_for(database_url)
    try:
        second = poll_once(
            lambda: SqlUnitOfWork(restarted, clock),
            feed,
            dispatcher,
            clock,
            source=SOURCE,
            limit=10,
        )
        assert (second.cursor_before, second.cursor_after) == ("20", "40")
        assert feed.reads == [None, "10", "20", "30"]
        assert _stored(restarted) == (40, 40, "40")
    finally:
        restarted.dispose()
    assert set(dispatcher.calls_per_workflow().values()) == {1}


def test_a_page_whose_commit_never_happened_is_read_again_without_loss_or_duplicates(
    engine: Engine,
) -> None:
    """The crash leaves the first page's events and cursor; the re-run stores the rest once."""
    clock, dispatcher = FixedClock(T0), RecordingDispatcher()
    crashes = [True]

    def crash_after_fetching_page_two(cursor: str | None) -> None:
        if cursor == "10" and crashes:
            crashes.pop()
            CrashingUnit.armed.set()  # the next commit, the one storing page two, dies

    feed = ScriptedFeed(
        feed_events(25), overlap=3, repeat_every=2, before_serving=crash_after_fetching_page_two
    )

    def unit() -> SqlUnitOfWork:
        return CrashingUnit(engine, clock)

    with pytest.raises(CrashError):
        poll_once(unit, feed, dispatcher, clock, source=SOURCE, limit=10)
    assert _stored(engine) == (10, 10, "10")
    report = poll_once(unit, feed, dispatcher, clock, source=SOURCE, limit=10)
    assert (report.cursor_before, report.accepted) == ("10", 15)
    assert _stored(engine) == (25, 25, "25")


def test_concurrent_pollers_of_one_source_never_double_advance_or_store_twice(
    engine: Engine,
) -> None:
    """Four pollers read each page together; one stores it, the others lose the race."""
    pollers, rounds = 4, 5
    barrier = threading.Barrier(pollers)
    clock, dispatcher = FixedClock(T0), RecordingDispatcher()
    feed = ScriptedFeed(
        feed_events(10 * rounds),
        overlap=1,
        repeat_every=3,
        before_serving=lambda _: barrier.wait(30),
    )
    reports: list[PollReport] = []
    errors: list[BaseException] = []

    def poll() -> None:
        try:
            for _ in range(rounds):
                reports.append(
                    poll_once(
                        lambda: SqlUnitOfWork(engine, clock),
                        feed,
                        dispatcher,
                        clock,
                        source=SOURCE,
                        limit=10,
                        max_pages=1,
                    )
                )
        except BaseException as exc:  # noqa: BLE001 - handed back to the test thread
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=poll) for _ in range(pollers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors, errors
    # All pollers of a round read the cursor before any of them stores (the barrier), so
    # each round exactly one moves it and the other three find it moved.
    advanced = sorted((r.cursor_before or "", r.cursor_after) for r in reports if not r.lost_race)
    assert advanced == [("", "10"), ("10", "20"), ("20", "30"), ("30", "40"), ("40", "50")]
    assert sum(r.lost_race for r in reports) == (pollers - 1) * rounds
    assert sum(r.accepted for r in reports) == 10 * rounds
    assert _stored(engine) == (10 * rounds, 10 * rounds, str(10 * rounds))
    assert set(dispatcher.calls_per_workflow().values()) == {1}


def test_kantata_events_duplicated_reordered_and_late_reach_the_inbox_once_via_the_settings(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A configured Kantata system, polled by the runner bootstrap builds, into the real inbox."""
    from contractsync.adapters.kantata import KantataProjectTracker
    from contractsync.bootstrap import build_polling_runner, build_system
    from contractsync.config import load_settings
    from contractsync.simulators import FaultPlan
    from contractsync.simulators.kantata import KantataSimulator
    from contractsync.simulators.kantata_events import EventDelivery
    from contractsync.simulators.kantata_scenarios import OPERATOR_USER
    from contractsync.simulators.server import running
    from tests.adapters.kantata import samples

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KANTATA_TOKEN", "sim-token")
    delivery = EventDelivery(
        duplicate_rate=0.4,
        duplicates_get_new_ids=True,
        max_generation_lag_seconds=120,
        max_visibility_lag_seconds=240,
        reorder=True,
    )
    sim = KantataSimulator(delivery=delivery, faults=FaultPlan(seed=11))
    clock, dispatcher = FixedClock(T0), RecordingDispatcher()
    with running(sim) as url:
        settings = load_settings(
            systems={
                "psa": {
                    "vendor": "kantata",
                    "options": {"base_url": url, "integration_user_id": 1},
                    "secrets": {"token": {"env": "KANTATA_TOKEN"}},
                }
            },
            ingress={"pollers": {"psa": {"interval_seconds": 1, "page_limit": 3}}},
        )
        tracker = build_system(settings, "psa")
        assert isinstance(tracker, KantataProjectTracker)
        ref = tracker.upsert_project(samples.project("P-1"), samples.contract("P-1"))
        runner = build_polling_runner(
            settings,
            uow_factory=lambda: SqlUnitOfWork(engine, clock),
            dispatcher=dispatcher,
            clock=clock,
        )
        expected: list[str] = []
        for minutes in range(8):
            for _ in range(4):
                entry = {
                    "workspace_id": ref.id,
                    "date_performed": "2026-03-02",
                    "time_in_minutes": 15 + minutes,
                }
                sim.account.create("time_entries", entry, user_id=OPERATOR_USER)
                expected.append(str(sim.account.last_event_id))
            sim.clock.offset += 60  # a minute between polls: late events surface
            while runner.tick("psa") == 0.0:
                pass
        sim.clock.offset += 600
        while runner.tick("psa") == 0.0:
            pass
    state = runner.status()["psa"]
    assert state.failures == 0, state
    assert len(sim.feed.events) > len(expected), "the feed duplicated nothing"
    with engine.connect() as connection:
        stored = connection.execute(
            select(inbox.c.event_id).where(inbox.c.source == "psa")
        ).scalars()
        event_ids = list(stored)
    assert sorted(event_ids, key=int) == sorted(expected, key=int)
    assert set(dispatcher.calls_per_workflow().values()) == {1}
