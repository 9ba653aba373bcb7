"""POST /replays: dry run first, then replay once; scope replay:write; idempotent per key."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from contractsync.ports.workflows import RunState
from tests.e2e.process_seed import FINANCE_KEY, ProcessHub, build_process_hub

RUN = "inbox:ironclad:wf-0"


@pytest.fixture
def hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ProcessHub]:
    yield from build_process_hub(monkeypatch, tmp_path)


def test_a_dry_run_says_what_a_replay_would_do_and_runs_nothing(hub):
    hub.runs.states[RUN] = RunState.FAILED

    response = hub.post("/api/v1/replays", {"kind": "workflow", "id": RUN, "dry_run": True})

    assert response.status_code == 200, response.text
    assert response.json()["action"] == "replay failed run"
    assert response.json()["outcome"] is None
    assert list(hub.runs.states) == [RUN]


def test_a_failed_run_is_replayed_once_and_audited_even_when_the_request_is_retried(hub):
    hub.runs.states[RUN] = RunState.FAILED
    body = {"kind": "workflow", "id": RUN}

    first = hub.post("/api/v1/replays", body, **{"Idempotency-Key": "r-1"})
    retried = hub.post("/api/v1/replays", body, **{"Idempotency-Key": "r-1"})

    assert first.status_code == 200, first.text
    assert first.json()["outcome"] == "replayed"
    assert first.json()["new_workflow_id"] == f"{RUN}#replay-1"
    assert retried.headers["idempotent-replayed"] == "true"
    assert sorted(hub.runs.states) == [RUN, f"{RUN}#replay-1"]
    actors = {e.actor for e in hub.store.audit if e.action.startswith("replay")}
    assert actors == {"api:admin"}


def test_a_replay_of_a_running_run_is_409_and_an_unknown_target_404(hub):
    hub.runs.states[RUN] = RunState.RUNNING

    running = hub.post("/api/v1/replays", {"kind": "workflow", "id": RUN})
    unknown = hub.post("/api/v1/replays", {"kind": "exception", "id": "EX-NOPE"})

    assert running.status_code == 409
    assert running.json()["code"] == "replay.already_running"
    assert unknown.status_code == 404
    assert unknown.json()["code"] == "replay.not_found"


def test_replaying_needs_the_replay_scope(hub):
    response = hub.post("/api/v1/replays", {"kind": "workflow", "id": RUN}, key=FINANCE_KEY)

    assert response.status_code == 403
    assert "replay:write" in response.json()["detail"]
