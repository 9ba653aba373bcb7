"""KantataProjectTracker against the simulator: projects, milestones, the event feed, faults."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import httpx
import pytest

from contractsync.adapters.kantata import KantataProjectTracker
from contractsync.errors import AmbiguousCommitError, DataError, TransientError
from contractsync.ports.systems import TrackerEvent
from contractsync.simulators import FaultPlan
from contractsync.simulators.kantata import KantataSimulator
from contractsync.simulators.kantata_events import EventDelivery
from contractsync.simulators.kantata_scenarios import OPERATOR_USER
from tests.adapters.kantata import samples

T = TypeVar("T")


def stories_of(sim: KantataSimulator, workspace: str) -> list[dict[str, object]]:
    return [s for s in sim.account.records["stories"].values() if s["workspace_id"] == workspace]


def test_a_project_becomes_a_linked_workspace_with_one_story_per_milestone(
    tracker: KantataProjectTracker, sim: KantataSimulator
) -> None:
    ref = tracker.upsert_project(samples.project("P-1"), samples.contract("P-1", milestones=3))
    assert (
        tracker.upsert_project(samples.project("P-1"), samples.contract("P-1", milestones=3)) == ref
    )
    assert tracker.find_project("P-1") == ref
    workspace = sim.account.records["workspaces"][ref.id]
    assert workspace["title"] == "Delivery P-1"
    stories = stories_of(sim, ref.id)
    assert sorted(s["title"] for s in stories) == ["Milestone 1", "Milestone 2", "Milestone 3"]
    assert {s["story_type"] for s in stories} == {"milestone"}
    refs = {(r["service_model"], r["service_model_ref"]) for r in sim.account.references.values()}
    assert refs == {
        ("project", "P-1"),
        ("contract", "K-P-1"),
        ("milestone", "K-P-1/M1"),
        ("milestone", "K-P-1/M2"),
        ("milestone", "K-P-1/M3"),
    }


def test_a_new_milestone_adds_a_story_and_a_renamed_project_updates_the_workspace(
    tracker: KantataProjectTracker, sim: KantataSimulator
) -> None:
    ref = tracker.upsert_project(samples.project("P-2"), samples.contract("P-2"))
    renamed = samples.project("P-2").model_copy(update={"name": "Delivery renamed"})
    tracker.upsert_project(renamed, samples.contract("P-2", milestones=3))
    assert sim.account.records["workspaces"][ref.id]["title"] == "Delivery renamed"
    assert len(stories_of(sim, ref.id)) == 3


def test_more_than_300_milestones_are_created_in_bulk_batches(
    tracker: KantataProjectTracker, sim: KantataSimulator
) -> None:
    ref = tracker.upsert_project(samples.project("P-3"), samples.contract("P-3", milestones=301))
    assert len(stories_of(sim, ref.id)) == 301


def test_the_project_plan_reads_the_workspace_and_its_milestones_as_kantata_holds_them(
    tracker: KantataProjectTracker, sim: KantataSimulator
) -> None:
    contract = samples.contract("P-4")
    ref = tracker.upsert_project(samples.project("P-4"), contract)
    first = next(s for s in stories_of(sim, ref.id) if s["title"] == "Milestone 1")
    edit = {"title": "Kick-off", "due_date": "2026-03-15", "state": "completed"}
    sim.account.update("stories", str(first["id"]), edit, user_id=OPERATOR_USER)

    plan = tracker.project_plan("P-4")

    assert plan is not None
    assert (plan.project, plan.project_id, plan.contract_id) == (ref, "P-4", contract.id)
    assert (plan.name, plan.start, plan.end, plan.closed) == (
        "Delivery P-4",
        contract.term.start,
        contract.term.end,
        False,
    )
    assert [(m.id, m.name, m.due_date.isoformat() if m.due_date else None, m.status)
            for m in plan.milestones] == [
        ("M1", "Kick-off", "2026-03-15", "completed"),
        ("M2", "Milestone 2", "2026-03-28", "open"),
    ]  # fmt: skip
    assert tracker.project_plan("P-unknown") is None


class Recorded(httpx.BaseTransport):
    """The simulator's transport, remembering every write sent through it."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.writes: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.method != "GET":
            self.writes.append(f"{request.method} {request.url.path}")
        return self.inner.handle_request(request)


def test_closing_a_project_archives_its_workspace_once_and_keeps_its_milestones(
    sim: KantataSimulator,
) -> None:
    recorded = Recorded(sim.transport())
    tracker = KantataProjectTracker.connect(samples.settings(), transport=recorded)
    ref = tracker.upsert_project(samples.project("P-5"), samples.contract("P-5"))
    recorded.writes.clear()

    assert tracker.close_project(samples.project("P-5")) == ref
    assert tracker.close_project(samples.project("P-5")) == ref  # a no-op: nothing is sent

    assert recorded.writes == [f"PUT /api/v1/workspaces/{ref.id}.json"]
    assert sim.account.records["workspaces"][ref.id]["archived"] is True
    assert len(stories_of(sim, ref.id)) == 2
    plan = tracker.project_plan("P-5")
    assert plan is not None
    assert (plan.closed, len(plan.milestones)) == (True, 2)
    assert tracker.find_project("P-5") == ref  # archived workspaces are still found
    tracker.upsert_project(samples.project("P-5"), samples.contract("P-5"))
    assert sim.account.records["workspaces"][ref.id]["archived"] is True  # never reopened


def test_closing_a_project_kantata_does_not_hold_is_a_data_error(
    tracker: KantataProjectTracker, sim: KantataSimulator
) -> None:
    with pytest.raises(DataError) as raised:
        tracker.close_project(samples.project("P-none"))
    assert raised.value.code == "kantata.unknown_project"
    assert sim.account.records["workspaces"] == {}


def complete(sim: KantataSimulator, ref_id: str, title: str) -> str:
    story = next(s for s in stories_of(sim, ref_id) if s["title"] == title)
    sim.account.update("stories", str(story["id"]), {"state": "completed"}, user_id=OPERATOR_USER)
    assert sim.account.last_event_id is not None
    return sim.account.last_event_id


def drain(
    tracker: KantataProjectTracker, cursor: str | None, limit: int = 2
) -> tuple[list[TrackerEvent], str | None]:
    seen: list[TrackerEvent] = []
    for _ in range(1000):
        page = tracker.poll_events(cursor=cursor, limit=limit)
        seen.extend(page.items)
        if page.next_cursor is None:
            return seen, cursor
        cursor = page.next_cursor
    raise AssertionError("the feed never ran dry")


def test_milestone_completion_time_and_hand_edits_are_reported_with_their_contract(
    tracker: KantataProjectTracker, sim: KantataSimulator
) -> None:
    ref = tracker.upsert_project(samples.project("P-4"), samples.contract("P-4"))
    completed = complete(sim, ref.id, "Milestone 2")
    sim.account.create(
        "time_entries",
        {"workspace_id": ref.id, "date_performed": "2026-02-03", "time_in_minutes": 90},
        user_id=OPERATOR_USER,
    )
    sim.account.update("workspaces", ref.id, {"due_date": "2027-01-31"}, user_id=OPERATOR_USER)
    events, _ = drain(tracker, None)
    kinds = [(e.kind, e.contract_id, e.milestone_id) for e in events]
    assert kinds == [
        ("milestone.completed", "K-P-4", "M2"),
        ("time.logged", "K-P-4", None),
        ("project.updated", "K-P-4", None),
    ]
    assert events[0].event_id == completed
    assert events[1].data["minutes"] == "90"
    assert events[2].data["changed"] == "due_date"
    assert all(e.project_ref == ref for e in events)


def test_the_poller_reports_each_event_once_despite_duplicates_reordering_and_lag() -> None:
    delivery = EventDelivery(
        duplicate_rate=0.4,
        duplicates_get_new_ids=True,
        max_generation_lag_seconds=120,
        max_visibility_lag_seconds=240,
        reorder=True,
    )
    sim = KantataSimulator(delivery=delivery, faults=FaultPlan(seed=5))
    transport = sim.transport()
    tracker = KantataProjectTracker.connect(samples.settings(), transport=transport)
    ref = tracker.upsert_project(samples.project("P-5"), samples.contract("P-5"))
    cursor, delivered, expected = None, [], []
    for round_ in range(12):
        for _ in range(5):
            sim.account.create(
                "time_entries",
                {
                    "workspace_id": ref.id,
                    "date_performed": "2026-03-02",
                    "time_in_minutes": 15 + round_,
                },
                user_id=OPERATOR_USER,
            )
            assert sim.account.last_event_id is not None
            expected.append(sim.account.last_event_id)
        sim.clock.offset += 60  # a minute passes between polls: late events surface
        events, cursor = drain(tracker, cursor, limit=3)
        delivered.extend(events)
    sim.clock.offset += 600
    events, cursor = drain(tracker, cursor)
    delivered.extend(events)
    transport.close()
    copies = list(sim.feed.events)
    assert len(copies) > len(expected), "the feed duplicated nothing"
    ids = [e.event_id for e in delivered]
    assert len(ids) == len(set(ids))
    assert sorted(ids, key=int) == sorted(expected, key=int)


def test_the_hubs_own_changes_are_not_reported(tracker: KantataProjectTracker) -> None:
    tracker.upsert_project(samples.project("P-6"), samples.contract("P-6"))
    renamed = samples.project("P-6").model_copy(update={"name": "Renamed by the hub"})
    tracker.upsert_project(renamed, samples.contract("P-6"))
    assert drain(tracker, None)[0] == []


class DurableSteps:
    """Runs calls as the workflow engine runs steps: again after a transient or ambiguous error."""

    def __init__(self, attempts: int = 30) -> None:
        self.attempts = attempts
        self.retries = 0

    def run(self, call: Callable[[], T]) -> T:
        for _ in range(self.attempts - 1):
            try:
                return call()
            except (TransientError, AmbiguousCommitError):
                self.retries += 1
        return call()


def test_with_20_percent_errors_and_10_percent_lost_writes_nothing_is_duplicated() -> None:
    plan = FaultPlan(
        seed=3,
        server_error_rate=0.1,
        rate_limit_rate=0.05,
        timeout_rate=0.05,
        lost_response_rate=0.1,
        paths=["/api/v1"],
    )
    sim = KantataSimulator(faults=plan)
    transport = sim.transport()
    tracker = KantataProjectTracker.connect(
        samples.settings(rate_limit_wait_seconds=0.0), transport=transport
    )
    steps = DurableSteps()
    keys = [f"Z-{n}" for n in range(8)]
    for key in keys:
        project, contract = samples.project(key), samples.contract(key, milestones=3)
        steps.run(lambda p=project, c=contract: tracker.upsert_project(p, c))
        steps.run(lambda p=project, c=contract: tracker.upsert_project(p, c))
    transport.close()
    injected = sim.injector.injected
    assert injected["lost_response"] >= 5, injected
    assert injected["server_error"] >= 5, injected
    workspaces = list(sim.account.records["workspaces"].values())
    assert sorted(w["title"] for w in workspaces) == sorted(f"Delivery {k}" for k in keys)
    milestones = [(s["workspace_id"], s["title"]) for s in sim.account.records["stories"].values()]
    assert len(milestones) == len(set(milestones)) == 3 * len(keys)
    links = [
        (r["subject_type"], r["service_model"], r["service_model_ref"])
        for r in sim.account.references.values()
    ]
    assert len(links) == len(set(links)) == 5 * len(keys)


def test_the_tracker_plugs_into_the_polling_ingress_feed_poller(
    tracker: KantataProjectTracker, sim: KantataSimulator
) -> None:
    from contractsync.adapters.ingress.feed_poller import FeedPoller

    ref = tracker.upsert_project(samples.project("P-7"), samples.contract("P-7"))
    complete(sim, ref.id, "Milestone 1")
    poller = FeedPoller.of_tracker(tracker)
    batch = poller.poll(None, 10)
    assert [e.event_type for e in batch.events] == ["milestone.completed"]
    assert batch.next_cursor is not None
    assert not batch.has_more
    assert poller.poll(batch.next_cursor, 10).next_cursor is None  # caught up: keep the cursor
