"""The polling runner's schedule and backoff, and the bridge from a PSA's event feed."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from pathlib import Path

import pytest

from contractsync.adapters.ingress.feed_poller import FeedPoller
from contractsync.adapters.ingress.polling_runner import PollingJob, PollingRunner
from contractsync.bootstrap import build_poller, build_polling_runner, build_system
from contractsync.config import Settings, load_settings
from contractsync.domain.identity import ExternalRef
from contractsync.errors import ConfigError, TransientError
from contractsync.ports.systems import Page, TrackerEvent
from contractsync.testing.fake_poller import T0, ScriptedFeed, feed_events
from contractsync.testing.fakes import (
    FixedClock,
    InMemoryStore,
    InMemoryUnitOfWork,
    RecordingDispatcher,
)


def _tracker_event(n: int) -> TrackerEvent:
    return TrackerEvent(
        event_id=f"se-{n}",
        kind="milestone.completed",
        project_ref=ExternalRef(system="kantata", kind="workspace", id="10"),
        milestone_id=f"M-{n}",
        occurred_at=T0 + timedelta(minutes=n),
    )


class Tracker:
    """A PSA whose ``poll_events`` pages through a list by index."""

    def __init__(self, events: list[TrackerEvent]) -> None:
        self.events = events

    def poll_events(self, *, cursor: str | None, limit: int) -> Page[TrackerEvent]:
        start = int(cursor or 0)
        page = self.events[start : start + limit]
        return Page(items=tuple(page), next_cursor=str(start + len(page)) if page else None)


def test_a_tracker_feed_becomes_polled_events_typed_by_kind_with_the_event_as_json() -> None:
    """Each TrackerEvent keeps its id and time; a full page says more may wait."""
    poller = FeedPoller.of_tracker(Tracker([_tracker_event(n) for n in range(5)]))
    batch = poller.poll(None, 3)
    assert [e.event_id for e in batch.events] == ["se-0", "se-1", "se-2"]
    assert (batch.next_cursor, batch.has_more) == ("3", True)
    first = batch.events[0]
    assert first.event_type == "milestone.completed"
    assert first.occurred_at == T0
    assert json.loads(first.body)["milestone_id"] == "M-0"
    last = poller.poll("3", 3)
    assert (len(last.events), last.next_cursor, last.has_more) == (2, "5", False)
    assert poller.poll("5", 3).next_cursor is None


class Hub:
    def __init__(self) -> None:
        self.store = InMemoryStore()
        self.clock = FixedClock(T0)
        self.dispatcher = RecordingDispatcher()

    def unit(self) -> InMemoryUnitOfWork:
        return InMemoryUnitOfWork(self.store, self.clock)

    def runner(self, *jobs: PollingJob) -> PollingRunner:
        return PollingRunner(
            jobs,
            uow_factory=self.unit,
            dispatcher=self.dispatcher,
            clock=self.clock,
            jitter=lambda: 0.0,
        )


def test_the_runner_waits_its_interval_after_catching_up_and_not_at_all_at_its_page_bound() -> None:
    """A pass that stopped at max_pages is followed at once."""
    hub = Hub()
    feed = ScriptedFeed(feed_events(30))
    runner = hub.runner(PollingJob("kantata", feed, 60.0, page_limit=10, max_pages=2))
    assert runner.tick("kantata") == 0.0
    assert runner.tick("kantata") == 60.0
    state = runner.status()["kantata"]
    assert state.last_report is not None
    assert state.last_report.cursor_after == "30"
    assert (state.failures, state.last_error) == (0, None)
    assert len(hub.store.inbox) == 30


def test_the_runner_backs_off_on_transient_errors_honours_retry_after_and_recovers() -> None:
    """Waits double from the interval (jitter at its floor: half the ceiling) up to the cap."""
    hub = Hub()
    feed = ScriptedFeed(feed_events(3))
    feed.failures += [TransientError("503"), TransientError("503"), TransientError("429")]
    feed.failures[2].retry_after = 45.0
    job = PollingJob("kantata", feed, 10.0, backoff_cap_seconds=30.0)
    runner = hub.runner(job)
    assert [runner.tick("kantata") for _ in range(3)] == [10.0, 15.0, 45.0]
    failing = runner.status()["kantata"]
    assert failing.failures == 3
    assert failing.last_error == "[remote.transient] 429"
    assert hub.store.cursors == {}
    assert runner.tick("kantata") == 10.0
    assert runner.status()["kantata"].failures == 0
    assert hub.store.cursors == {"kantata": "3"}


def test_a_poller_refused_for_its_settings_keeps_running_on_the_backoff() -> None:
    """A ConfigError needs a person, but the poller must still be there once it is fixed."""
    hub = Hub()
    feed = ScriptedFeed(feed_events(2))
    feed.failures.append(ConfigError("Kantata refused the token", code="kantata.unauthorized"))
    runner = hub.runner(PollingJob("kantata", feed, 5.0))
    assert runner.tick("kantata") == 5.0
    assert (
        runner.status()["kantata"].last_error == "[kantata.unauthorized] Kantata refused the token"
    )
    assert runner.tick("kantata") == 5.0
    assert len(hub.store.inbox) == 2


def test_the_runner_polls_every_source_in_its_own_thread_until_stopped() -> None:
    """Two sources, two threads; both feeds end up stored and stop() ends the threads."""
    hub = Hub()
    first, second = ScriptedFeed(feed_events(5)), ScriptedFeed(feed_events(7, prefix="ns"))
    runner = hub.runner(PollingJob("kantata", first, 0.05), PollingJob("netsuite", second, 0.05))
    runner.start()
    try:
        deadline = time.monotonic() + 10
        while hub.store.cursors != {"kantata": "5", "netsuite": "7"}:
            assert time.monotonic() < deadline, runner.status()
            time.sleep(0.02)
    finally:
        runner.stop()
    reads = len(first.reads)
    time.sleep(0.15)
    assert len(first.reads) == reads
    assert len(hub.store.inbox) == 12
    assert runner.sources == ("kantata", "netsuite")


def test_one_source_may_have_one_job_only() -> None:
    feed = ScriptedFeed([])
    with pytest.raises(ValueError, match="one job"):
        Hub().runner(PollingJob("kantata", feed, 1.0), PollingJob("kantata", feed, 2.0))


def _settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **sections: object) -> Settings:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KANTATA_TOKEN", "sim-token")
    return load_settings(**sections)


PSA = {
    "vendor": "kantata",
    "options": {"base_url": "http://127.0.0.1:9"},
    "secrets": {"token": {"env": "KANTATA_TOKEN"}},
}


def test_bootstrap_builds_one_job_per_configured_poller_with_its_schedule(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The schedule comes from ingress.pollers; a given poller replaces the system's feed."""
    schedule = {"interval_seconds": 30, "page_limit": 5, "max_pages": 2}
    settings = _settings(
        tmp_path, monkeypatch, systems={"psa": PSA}, ingress={"pollers": {"psa": schedule}}
    )
    hub = Hub()
    feed = ScriptedFeed(feed_events(12))
    runner = build_polling_runner(
        settings,
        uow_factory=hub.unit,
        dispatcher=hub.dispatcher,
        clock=hub.clock,
        pollers={"psa": feed},
    )
    assert runner.sources == ("psa",)
    assert [runner.tick("psa") for _ in range(2)] == [0.0, 30.0]
    assert feed.reads == [None, "5", "10"]
    assert isinstance(build_poller(settings, "psa"), FeedPoller)


def test_a_system_without_an_event_feed_cannot_be_polled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SF_SECRET", "x")
    crm = {
        "vendor": "salesforce",
        "options": {"instance_url": "http://127.0.0.1:9", "client_id": "c"},
        "secrets": {"client_secret": {"env": "SF_SECRET"}},
    }
    settings = _settings(
        tmp_path, monkeypatch, systems={"crm": crm}, ingress={"pollers": {"crm": {}}}
    )
    with pytest.raises(ConfigError, match="has no event feed to poll") as raised:
        build_poller(settings, "crm")
    assert raised.value.code == "config.not_pollable"
    with pytest.raises(ConfigError, match="no system erp"):
        build_system(settings, "erp")
