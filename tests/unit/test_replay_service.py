"""Replay selection, dry run and execution over the in-memory ports and a fake engine."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from contractsync.domain.exception_item import ExceptionStatus
from contractsync.domain.roles import OwnerRole
from contractsync.errors import ConflictError, DataError, DomainError
from contractsync.ports.storage import InboxMessage, InboxStatus
from contractsync.ports.workflows import RunAttempt, RunState
from contractsync.services.inbox_processing import HandlerFailure, record_failure, record_processed
from contractsync.services.replay import (
    ReplayAction,
    ReplayTarget,
    ReplayTools,
    plan,
    plan_selection,
    replay,
)
from contractsync.testing.fakes import (
    FixedClock,
    InMemoryStore,
    InMemoryUnitOfWork,
    RecordingDispatcher,
)

MARK = "#replay-"


class FakeRuns:
    """The engine's runs in memory: lineages, states, and forks inserted once per id."""

    def __init__(self) -> None:
        self.states: dict[str, RunState] = {}
        self.forks: list[tuple[str, int, str]] = []
        self._lock = threading.Lock()

    def add(self, workflow_id: str, state: RunState) -> None:
        self.states[workflow_id] = state

    def latest(self, workflow_id: str) -> RunAttempt | None:
        lineage = workflow_id.split(MARK, 1)[0]
        with self._lock:
            found = [w for w in self.states if w == lineage or w.startswith(lineage + MARK)]
            if not found:
                return None
            newest = max(found, key=lambda w: int(w.split(MARK)[1]) if MARK in w else 0)
            state = self.states[newest]
        number = int(newest.split(MARK)[1]) if MARK in newest else 0
        failed = RunState.FAILED
        return RunAttempt(
            newest,
            lineage,
            number,
            state,
            failed_step=2 if state is failed else None,
            error="[remote.unprocessable] rejected" if state is failed else None,
        )

    def replay(self, attempt: RunAttempt) -> str:
        new_id = f"{attempt.lineage_id}{MARK}{attempt.number + 1}"
        with self._lock:
            if new_id in self.states:
                raise ConflictError("taken", code="replay.already_running")
            self.states[new_id] = RunState.RUNNING
            self.forks.append((attempt.workflow_id, attempt.failed_step or 1, new_id))
        return new_id


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def store() -> InMemoryStore:
    return InMemoryStore()


@pytest.fixture
def runs() -> FakeRuns:
    return FakeRuns()


class StartingDispatcher(RecordingDispatcher):
    """Records dispatches and starts the run in the fake engine, as the real one does."""

    def __init__(self, runs: FakeRuns) -> None:
        super().__init__()
        self.runs = runs

    def dispatch(self, message: InboxMessage) -> str:
        workflow_id = super().dispatch(message)
        self.runs.states.setdefault(workflow_id, RunState.RUNNING)
        return workflow_id


@pytest.fixture
def dispatcher(runs) -> StartingDispatcher:
    return StartingDispatcher(runs)


@pytest.fixture
def tools(store, clock, runs, dispatcher) -> ReplayTools:
    return ReplayTools(lambda: InMemoryUnitOfWork(store, clock), runs, dispatcher, clock)


def _stored(
    store, clock, event_id: str, status=InboxStatus.RECEIVED, *, source="recorder", at=None
):
    message = InboxMessage(
        id=f"m-{event_id}",
        source=source,
        event_id=event_id,
        event_type="thing.happened",
        received_at=at or clock.now(),
        body=b"{}",
        status=status,
    )
    with InMemoryUnitOfWork(store, clock) as uow:
        uow.inbox.add(message)
        uow.commit()
    return message


def _failed(store, clock, runs, event_id: str, **extra) -> tuple[InboxMessage, str]:
    """A message whose run failed on a DataError: FAILED, with its ExceptionItem."""
    message = _stored(store, clock, event_id, **extra)
    run_id = f"inbox:{message.source}:{event_id}"
    runs.add(run_id, RunState.FAILED)
    error = DataError("rejected", code="remote.unprocessable", detail={"owner": "finance"})
    item = record_failure(
        InMemoryUnitOfWork(store, clock),
        clock,
        message,
        workflow_id=run_id,
        failure=HandlerFailure(error),
    )
    return store.inbox[message.id], item.id


def _audit(store) -> list[tuple[str, str, str]]:
    return [(e.action, e.subject, e.payload.get("outcome", "")) for e in store.audit]


def test_a_failed_run_is_marked_failed_with_an_item_owned_as_the_error_says(store, clock, runs):
    message, item_id = _failed(store, clock, runs, "e1")

    item = store.exceptions[item_id].item
    assert message.status is InboxStatus.FAILED
    assert message.error is not None
    assert message.error["exception_id"] == item_id
    assert (item.code, item.owner) == ("remote.unprocessable", OwnerRole.FINANCE)
    assert item.evidence["inbox_message_id"] == message.id
    assert item.evidence["workflow_id"] == "inbox:recorder:e1"


def test_the_dry_run_of_a_failed_message_forks_from_its_failed_step_and_writes_nothing(
    store, clock, runs, tools
):
    message, _ = _failed(store, clock, runs, "e1")
    audit_before = len(store.audit)

    planned = plan(tools, ReplayTarget("message", message.id))

    assert planned.action is ReplayAction.REPLAY
    assert (planned.workflow_id, planned.from_step) == ("inbox:recorder:e1", 2)
    assert "failed at step 2" in planned.reason
    assert runs.forks == []
    assert len(store.audit) == audit_before


def test_replaying_a_failed_message_forks_once_marks_its_item_retried_and_audits(
    store, clock, runs, tools
):
    message, item_id = _failed(store, clock, runs, "e1")

    result = replay(tools, ReplayTarget("message", message.id), actor="ops@firm")

    assert (result.outcome, result.new_workflow_id) == ("replayed", "inbox:recorder:e1#replay-1")
    assert runs.forks == [("inbox:recorder:e1", 2, "inbox:recorder:e1#replay-1")]
    assert store.exceptions[item_id].item.status is ExceptionStatus.RETRIED
    assert _audit(store)[-1] == ("replay", f"message:{message.id}", "replayed")


def test_a_replay_that_succeeds_processes_the_message_and_resolves_its_item(
    store, clock, runs, tools
):
    message, item_id = _failed(store, clock, runs, "e1")
    new_id = replay(tools, ReplayTarget("exception", item_id), actor="ops").new_workflow_id
    assert new_id is not None

    record_processed(InMemoryUnitOfWork(store, clock), clock, message, workflow_id=new_id)

    assert store.inbox[message.id].status is InboxStatus.PROCESSED
    assert store.exceptions[item_id].item.status is ExceptionStatus.RESOLVED


def test_a_replay_that_fails_again_reopens_the_same_item(store, clock, runs, tools):
    message, item_id = _failed(store, clock, runs, "e1")
    new_id = replay(tools, ReplayTarget("message", message.id), actor="ops").new_workflow_id
    runs.add(str(new_id), RunState.FAILED)

    again = record_failure(
        InMemoryUnitOfWork(store, clock),
        clock,
        store.inbox[message.id],
        workflow_id=str(new_id),
        failure=HandlerFailure(DataError("still rejected", code="remote.unprocessable")),
    )

    assert again.id == item_id
    assert again.status is ExceptionStatus.OPEN
    assert len(store.exceptions) == 1
    assert plan(tools, ReplayTarget("message", message.id)).workflow_id == new_id


def test_replaying_something_that_succeeded_does_nothing_but_say_so(store, clock, runs, tools):
    processed = _stored(store, clock, "done", InboxStatus.PROCESSED)
    runs.add("probe:job-1", RunState.SUCCEEDED)

    by_message = replay(tools, ReplayTarget("message", processed.id), actor="ops")
    by_workflow = replay(tools, ReplayTarget("workflow", "probe:job-1"), actor="ops")

    assert by_message.outcome == by_workflow.outcome == "already succeeded"
    assert by_message.new_workflow_id is None
    assert runs.forks == []
    assert [a[2] for a in _audit(store)[-2:]] == ["already succeeded"] * 2


def test_replaying_a_running_item_is_a_conflict_and_is_audited(store, clock, runs, tools):
    runs.add("probe:job-2", RunState.RUNNING)

    with pytest.raises(ConflictError, match="replay already running") as caught:
        replay(tools, ReplayTarget("workflow", "probe:job-2"), actor="ops")

    assert caught.value.code == "replay.already_running"
    assert _audit(store)[-1] == ("replay", "workflow:probe:job-2", "already running")


def test_two_concurrent_replays_of_one_failed_run_fork_it_once(store, clock, runs, tools):
    message, _ = _failed(store, clock, runs, "e1")
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def attempt() -> None:
        barrier.wait()
        try:
            outcomes.append(replay(tools, ReplayTarget("message", message.id), actor="ops").outcome)
        except ConflictError as error:
            outcomes.append(error.code)

    threads = [threading.Thread(target=attempt) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["replay.already_running", "replayed"]
    assert len(runs.forks) == 1


def test_a_message_that_never_ran_is_claimed_then_dispatched_once(
    store, clock, runs, tools, dispatcher
):
    quarantined = _stored(store, clock, "q1", InboxStatus.FAILED)

    planned = plan(tools, ReplayTarget("message", quarantined.id))
    result = replay(tools, ReplayTarget("message", quarantined.id), actor="ops")

    assert planned.action is ReplayAction.START
    assert "quarantined" in planned.reason
    assert (result.outcome, result.new_workflow_id) == ("started", "inbox:recorder:q1")
    assert dispatcher.calls == ["inbox:recorder:q1"]
    assert store.inbox[quarantined.id].status is InboxStatus.DISPATCHED
    with pytest.raises(ConflictError):
        replay(tools, ReplayTarget("message", quarantined.id), actor="ops")


def test_bulk_selection_takes_the_source_status_and_time_window_oldest_first(
    store, clock, runs, tools
):
    hour = timedelta(hours=1)
    early, _ = _failed(store, clock, runs, "a", at=clock.now())
    late, _ = _failed(store, clock, runs, "b", at=clock.now() + hour)
    _failed(store, clock, runs, "c", source="other", at=clock.now() + hour)
    _stored(store, clock, "d", InboxStatus.PROCESSED, at=clock.now() + hour)

    window = plan_selection(
        tools,
        source="recorder",
        received_from=clock.now(),
        received_until=clock.now() + 2 * hour,
    )
    later_only = plan_selection(tools, source="recorder", received_from=clock.now() + hour)

    assert [p.target.id for p in window] == [early.id, late.id]
    assert {p.action for p in window} == {ReplayAction.REPLAY}
    assert [p.target.id for p in later_only] == [late.id]
    assert runs.forks == []


def test_unknown_targets_and_closed_items_are_refused_with_what_to_do(store, clock, runs, tools):
    _, item_id = _failed(store, clock, runs, "e1")
    with InMemoryUnitOfWork(store, clock) as uow:
        uow.exceptions.save(
            store.exceptions[item_id].item.dismiss(actor="ops", at=clock.now(), reason="noise"),
            expected=store.exceptions[item_id].item,
        )
        uow.commit()

    for target in (ReplayTarget("message", "nope"), ReplayTarget("workflow", "nope")):
        with pytest.raises(DomainError, match=r"no .* nope to replay"):
            plan(tools, target)
    with pytest.raises(DomainError) as closed:
        plan(tools, ReplayTarget("exception", item_id))
    assert closed.value.code == "replay.item_closed"
