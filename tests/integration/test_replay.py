"""Done-when (f) through the real engine: a failed-then-fixed item replayed takes effect once.

The engine runs in this process (a real worker: DBOS, heartbeat, recovery duty), webhooks go
through the real API, and replays go through the ``contractsync`` command line and the replay
service, on SQLite and on PostgreSQL. The effect recorder answers 422 (a DataError) for the
effects it is told to refuse, until the test "fixes the cause".
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from contractsync.adapters.persistence.migrate import upgrade
from contractsync.bootstrap import build_api, build_dispatcher, build_replay_tools, build_worker
from contractsync.config import Settings, load_settings
from contractsync.domain.exception_item import ExceptionItem, ExceptionStatus
from contractsync.entrypoints.api import create_app
from contractsync.entrypoints.cli import app
from contractsync.errors import ConflictError
from contractsync.ports.storage import InboxMessage, InboxStatus
from contractsync.services.replay import ReplayTarget, replay
from contractsync.testing.effect_recorder import EffectRecorder, RecorderServer
from contractsync.testing.workflow_hooks import install, uninstall
from contractsync.workflows.client import EngineClient
from contractsync.workflows.runs import RunStatus
from tests.integration.hub_processes import SECRET, SECRET_VARIABLE, hub_settings, signed
from tests.integration.test_worker_crash import fresh_postgres_database


@pytest.fixture(autouse=True, scope="module")
def _test_workflows() -> Iterator[None]:
    """Register the test workflows and the recorder handler for this module only."""
    install()
    yield
    uninstall()


runner = CliRunner()


class RefusingRecorder(EffectRecorder):
    """An effect recorder that refuses chosen effects with 422 until told they are fixed.

    ``refuse`` effects are rejected before anything is applied; ``apply_then_refuse`` ones
    are applied and *then* answered 422, so the failed attempt did leave its effect behind.
    """

    def __init__(self) -> None:
        super().__init__()
        self.refuse: set[str] = set()
        self.apply_then_refuse: set[str] = set()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or (scope["method"], scope["path"]) != ("POST", "/effects"):
            await super().__call__(scope, receive, send)
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        effect = json.loads(body).get("effect")

        async def again() -> dict[str, Any]:
            return {"type": "http.request", "body": body, "more_body": False}

        if effect in self.refuse:
            await _unprocessable(send)
        elif effect in self.apply_then_refuse:
            swallowed: list[Any] = []
            await super().__call__(scope, again, lambda event: _keep(swallowed, event))
            await _unprocessable(send)
        else:
            await super().__call__(scope, again, send)

    def fix(self) -> None:
        self.refuse.clear()
        self.apply_then_refuse.clear()


async def _keep(into: list[Any], event: Any) -> None:
    into.append(event)


async def _unprocessable(send: Any) -> None:
    body = json.dumps({"error": "customer number rejected"}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 422, "headers": headers})
    await send({"type": "http.response.body", "body": body})


@dataclass
class Hub:
    settings: Settings
    config: Path
    api: TestClient
    recorder: RefusingRecorder
    url: str

    def post(self, event_id: str) -> InboxMessage:
        body = json.dumps(
            {
                "specversion": "1.0",
                "id": event_id,
                "type": "thing.happened",
                "data": {"target": self.url},
            }
        ).encode()
        response = self.api.post("/webhooks/recorder", content=body, headers=signed(event_id, body))
        assert response.status_code == 202, response.text
        return self.message(event_id)

    def message(self, event_id: str) -> InboxMessage:
        tools = build_replay_tools(self.settings)
        try:
            with tools.uow_factory() as uow:
                found = uow.inbox.find("recorder", event_id)
        finally:
            tools.close()
        assert found is not None
        return found

    def item(self, item_id: str) -> ExceptionItem:
        tools = build_replay_tools(self.settings)
        try:
            with tools.uow_factory() as uow:
                found = uow.exceptions.get(item_id)
        finally:
            tools.close()
        assert found is not None
        return found

    def wait_for(self, event_id: str, status: InboxStatus, timeout: float = 60) -> InboxMessage:
        deadline = time.monotonic() + timeout
        while (message := self.message(event_id)).status is not status:
            assert time.monotonic() < deadline, f"{event_id} stayed {message.status}"
            time.sleep(0.1)
        return message

    def cli(self, *arguments: str) -> Any:
        result = runner.invoke(app, [*arguments, "--config", str(self.config), "--json"])
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    def replays_audited(self) -> list[tuple[str, str, str]]:
        tools = build_replay_tools(self.settings)
        try:
            with tools.uow_factory() as uow:
                entries = uow.audit.entries(limit=10_000)
        finally:
            tools.close()
        return [(e.actor, e.subject, e.payload["outcome"]) for e in entries if e.action == "replay"]

    def effects(self) -> Counter[str]:
        return Counter(body["effect"] for body in self.recorder.stats()["effects"].values())


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'hub.sqlite'}"
        return
    with fresh_postgres_database("cs_replay") as url:
        yield url


@pytest.fixture
def hub(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Hub]:
    monkeypatch.setenv(SECRET_VARIABLE, SECRET)
    monkeypatch.setenv("CONTRACTSYNC_ACTOR", "ops@firm")
    upgrade(database_url)
    config = tmp_path / "contractsync.yaml"
    config.write_text(yaml.safe_dump(hub_settings(database_url, concurrency=8)), encoding="utf-8")
    settings = load_settings(config)
    recorder = RefusingRecorder()
    with RecorderServer(recorder) as server:
        worker = build_worker(settings, executor_id="replayer", poll_seconds=0.05)
        container = build_api(settings, dispatcher=build_dispatcher(settings, engine=worker.engine))
        try:
            yield Hub(settings, config, TestClient(create_app(container)), recorder, server.url)
        finally:
            worker.stop(grace_seconds=2)
            container.close()


def _fail(hub: Hub, event_id: str, *, applied: bool = False) -> tuple[InboxMessage, str]:
    effect = f"recorder/{event_id}"
    (hub.recorder.apply_then_refuse if applied else hub.recorder.refuse).add(effect)
    hub.post(event_id)
    message = hub.wait_for(event_id, InboxStatus.FAILED)
    assert message.error is not None
    return message, str(message.error["exception_id"])


def test_a_failed_then_fixed_item_replayed_by_message_workflow_item_or_in_bulk_takes_effect_once(
    hub: Hub,
) -> None:
    hub.post("ok-1")
    failed = {
        name: _fail(hub, name, applied=name == "bad-5")
        for name in ("bad-1", "bad-2", "bad-3", "bad-4", "bad-5")
    }
    hub.wait_for("ok-1", InboxStatus.PROCESSED)
    item = hub.item(failed["bad-1"][1])
    assert (item.code, item.status) == ("remote.unprocessable", ExceptionStatus.OPEN)
    assert item.evidence["inbox_message_id"] == failed["bad-1"][0].id
    assert item.evidence["workflow_id"] == "inbox:recorder:bad-1"
    with EngineClient(hub.settings) as client:
        assert client.status("inbox:recorder:bad-1") is RunStatus.ERROR
    assert hub.effects() == Counter({"recorder/ok-1": 1, "recorder/bad-5": 1})

    hub.recorder.fix()
    by_message = hub.cli("replay", "message", failed["bad-1"][0].id)
    by_workflow = hub.cli("replay", "workflow", "inbox:recorder:bad-2")
    by_item = hub.cli("exceptions", "retry", failed["bad-3"][1])
    for name in ("bad-1", "bad-2", "bad-3"):
        hub.wait_for(name, InboxStatus.PROCESSED)
    dry = hub.cli("replay", "--source", "recorder", "--status", "failed")
    effects_before_bulk = hub.effects()
    bulk = hub.cli("replay", "--source", "recorder", "--status", "failed", "--yes")
    for name in ("bad-4", "bad-5"):
        hub.wait_for(name, InboxStatus.PROCESSED)

    assert [
        r["outcome"] for r in by_message["results"] + by_workflow["results"] + by_item["results"]
    ] == ["replayed"] * 3
    assert by_message["results"][0]["new_workflow_id"] == "inbox:recorder:bad-1#replay-1"
    assert by_message["results"][0]["from_step"] == 2
    assert dry["dry_run"] is True
    assert [p["action"] for p in dry["plans"]] == ["replay failed run"] * 2
    assert effects_before_bulk == Counter(
        {f"recorder/{n}": 1 for n in ("ok-1", "bad-1", "bad-2", "bad-3", "bad-5")}
    )
    assert [r["outcome"] for r in bulk["results"]] == ["replayed", "replayed"]
    assert hub.effects() == Counter({f"recorder/{n}": 1 for n in ("ok-1", *failed)})
    assert set(hub.recorder.stats()["effects"]) == {
        f"inbox:recorder:{n}:2" for n in ("ok-1", *failed)
    }
    assert {hub.item(item_id).status for _, item_id in failed.values()} == {
        ExceptionStatus.RESOLVED
    }
    audited = hub.replays_audited()
    assert len(audited) == 5
    assert {(actor, outcome) for actor, _, outcome in audited} == {("ops@firm", "replayed")}
    assert (f"exception:{failed['bad-3'][1]}") in {subject for _, subject, _ in audited}


def test_replaying_something_that_already_succeeded_does_nothing(hub: Hub) -> None:
    first, _ = _fail(hub, "once")
    hub.recorder.fix()
    hub.cli("replay", "message", first.id)
    hub.wait_for("once", InboxStatus.PROCESSED)
    effects = hub.effects()

    again = hub.cli("replay", "message", first.id)
    by_run = hub.cli("replay", "workflow", "inbox:recorder:once")

    assert again["results"][0]["outcome"] == "already succeeded"
    assert by_run["results"][0]["outcome"] == "already succeeded"
    assert by_run["results"][0]["workflow_id"] == "inbox:recorder:once#replay-1"
    assert hub.effects() == effects == Counter({"recorder/once": 1})


def test_two_concurrent_replays_of_one_failed_item_give_one_effect_and_one_conflict(
    hub: Hub,
) -> None:
    message, _ = _fail(hub, "raced")
    hub.recorder.fix()
    hub.recorder.latency_seconds = 1.0  # the winner's run is still going when the loser looks
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def operator() -> None:
        tools = build_replay_tools(hub.settings)
        try:
            barrier.wait(timeout=30)
            outcomes.append(replay(tools, ReplayTarget("message", message.id), actor="ops").outcome)
        except ConflictError as error:
            outcomes.append(error.code)
        finally:
            tools.close()

    threads = [threading.Thread(target=operator) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    hub.wait_for("raced", InboxStatus.PROCESSED)

    assert sorted(outcomes) == ["replay.already_running", "replayed"]
    assert hub.effects() == Counter({"recorder/raced": 1})
    with EngineClient(hub.settings) as client:
        runs = client.list_workflows(prefix="inbox:recorder:raced")
    assert sorted(run.workflow_id for run in runs) == [
        "inbox:recorder:raced",
        "inbox:recorder:raced#replay-1",
    ]
