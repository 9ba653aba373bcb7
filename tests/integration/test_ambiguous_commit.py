"""A write whose answer is lost is settled by looking the effect up, never by writing blindly."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from contractsync.bootstrap import build_workflow_engine
from contractsync.config import DatabaseSettings, EngineSettings, QueueLimits, Settings
from contractsync.testing.effect_recorder import EffectRecorder, RecorderServer
from contractsync.testing.workflow_hooks import install, uninstall
from contractsync.workflows.engine import Engine
from contractsync.workflows.probe import three_effects
from contractsync.workflows.runs import RunStatus
from tests.integration.test_worker_crash import fresh_postgres_database


@pytest.fixture(autouse=True, scope="module")
def _test_workflows() -> Iterator[None]:
    """Register the test workflows and the recorder handler for this module only."""
    install()
    yield
    uninstall()


@pytest.fixture
def postgres_database_url() -> Iterator[str]:
    with fresh_postgres_database("cs_ambiguous") as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'hub.sqlite'}"
    else:
        url = request.getfixturevalue("postgres_database_url")
    settings = Settings(
        database=DatabaseSettings(url=url),
        engine=EngineSettings(queues={"recorder": QueueLimits(concurrency=5)}),
    )
    running = build_workflow_engine(settings, executor_id="ambiguous", poll_seconds=0.05)
    yield running
    running.shutdown()


@pytest.fixture
def recorder() -> Iterator[RecorderServer]:
    with RecorderServer(EffectRecorder()) as server:
        yield server


def test_a_commit_whose_answer_was_lost_is_found_by_lookup_and_not_written_again(
    engine: Engine, recorder: RecorderServer
) -> None:
    recorder.recorder.drop_next_responses(3)

    runs = [engine.start(three_effects, f"A{n}", f"A{n}", recorder.url) for n in range(4)]

    assert [len(run.result()) for run in runs] == [3, 3, 3, 3]
    assert {run.status() for run in runs} == {RunStatus.SUCCESS}
    stats = recorder.recorder.stats()
    assert len(stats["dropped"]) == 3
    assert len(stats["effects"]) == 12
    assert set(stats["requests"].values()) == {1}


def test_a_write_lost_before_its_commit_is_retried_under_the_same_key(
    engine: Engine, recorder: RecorderServer
) -> None:
    recorder.recorder.drop_next_responses(1, after_commit=False)

    run = engine.start(three_effects, "B1", "B1", recorder.url)

    assert run.result() == [1, 2, 3]
    stats = recorder.recorder.stats()
    (lost,) = stats["dropped"]
    assert lost == f"{run.workflow_id}:1"
    assert stats["requests"] == {
        f"{run.workflow_id}:{step}": 2 if step == 1 else 1 for step in (1, 2, 3)
    }
    assert len(stats["effects"]) == 3
