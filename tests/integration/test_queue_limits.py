"""Two ``contractsync worker`` processes on one PostgreSQL share a queue and its limit of 5."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from contractsync.testing.effect_recorder import EffectRecorder, RecorderServer
from contractsync.workflows.client import EngineClient
from contractsync.workflows.probe import ONE_EFFECT
from contractsync.workflows.runs import RunStatus
from tests.integration.test_worker_crash import QUEUE, Workers, fresh_postgres_database


@pytest.fixture
def postgres_url() -> Iterator[str]:
    with fresh_postgres_database("cs_queues") as url:
        yield url


@pytest.mark.postgres
def test_two_workers_sharing_a_queue_never_have_more_than_five_calls_in_flight(
    tmp_path: Path, postgres_url: str
) -> None:
    with (
        Workers(tmp_path, postgres_url, concurrency=5) as workers,
        RecorderServer(EffectRecorder(latency_seconds=0.25)) as recorder,
        EngineClient(workers.settings) as client,
    ):
        workers.start("w1", "w2")
        run_ids = [
            client.enqueue(QUEUE, ONE_EFFECT, f"job-{n}", f"job-{n}", recorder.url)
            for n in range(60)
        ]
        runs = client.wait_until_finished(run_ids, timeout_seconds=120)
        stats = recorder.recorder.stats()
        exit_codes = workers.stop_all()

    assert exit_codes == [0, 0]
    assert {run.status for run in runs} == {RunStatus.SUCCESS}
    assert len(stats["effects"]) == 60
    print(f"\nmax in flight at the recorder: {stats['max_in_flight']}")
    assert stats["max_in_flight"] <= 5
    by_worker = Counter(run.executor_id for run in runs)
    assert set(by_worker) == {"w1", "w2"}, by_worker
