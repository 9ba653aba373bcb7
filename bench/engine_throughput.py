"""Throughput of the durable engine: trivial 3-step workflows on SQLite (WAL) and PostgreSQL.

Usage: .venv/bin/python bench/engine_throughput.py [--n 300] [--postgres URL]

Runs, in one process, for each backend:
  baseline    plain SQLAlchemy: per workflow, one transaction to record the start, one per step
              and one to record the end (5 tiny transactions), i.e. the least a home-made
              durable engine would write;
  sequential  engine.start(...).result() one after the other;
  threads     8 client threads starting workflows;
  queue       enqueue n on a queue (global concurrency 8), then wait for all.
The PostgreSQL database is created for the run and dropped afterwards. Prints workflows/s.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from contractsync.adapters.persistence.engine import create_engine_for
from contractsync.bootstrap import build_workflow_engine
from contractsync.config import DatabaseSettings, EngineSettings, QueueLimits, Settings
from contractsync.workflows.engine import Engine
from contractsync.workflows.steps import step, workflow


@step("bench.s1")
def s1(x: int) -> int:
    return x + 1


@step("bench.s2")
def s2(x: int) -> int:
    return x + 1


@step("bench.s3")
def s3(x: int) -> int:
    return x + 1


@workflow("bench.three_steps")
def three_steps(x: int) -> int:
    return s3(s2(s1(x)))


def _timed(label: str, n: int, run: Callable[[], None]) -> tuple[str, int, float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    run()
    return label, n, time.perf_counter() - wall, time.process_time() - cpu


def baseline(url: str, n: int) -> tuple[str, int, float, float]:
    engine = create_engine_for(url)
    meta = sa.MetaData()
    runs = sa.Table(
        "bench_runs",
        meta,
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("status", sa.String(16)),
    )
    steps = sa.Table(
        "bench_steps",
        meta,
        sa.Column("run_id", sa.String(64), primary_key=True),
        sa.Column("n", sa.Integer, primary_key=True),
        sa.Column("output", sa.Integer),
    )
    meta.create_all(engine)

    def run() -> None:
        for i in range(n):
            run_id = f"b-{i}"
            with engine.begin() as c:
                c.execute(runs.insert().values(id=run_id, status="PENDING"))
            value = i
            for number in (1, 2, 3):
                value += 1
                with engine.begin() as c:
                    c.execute(steps.insert().values(run_id=run_id, n=number, output=value))
            with engine.begin() as c:
                c.execute(runs.update().where(runs.c.id == run_id).values(status="SUCCESS"))

    try:
        return _timed("baseline (5 plain transactions)", n, run)
    finally:
        meta.drop_all(engine)
        engine.dispose()


def engine_modes(engine: Engine, n: int, tag: str) -> list[tuple[str, int, float, float]]:
    for i in range(20):  # warm-up: connections, caches
        engine.start(three_steps, f"{tag}-warm-{i}", i).result()

    def sequential() -> None:
        for i in range(n):
            assert engine.start(three_steps, f"{tag}-seq-{i}", i).result() == i + 3

    def threads() -> None:
        def one(i: int) -> int:
            result: int = engine.start(three_steps, f"{tag}-thr-{i}", i).result()
            return result

        with ThreadPoolExecutor(8) as pool:
            assert sum(pool.map(one, range(n))) == sum(range(n)) + 3 * n

    def queue() -> None:
        runs = [engine.enqueue("bench", three_steps, f"{tag}-q-{i}", i) for i in range(n)]
        assert sum(run.result() for run in runs) == sum(range(n)) + 3 * n

    return [
        _timed("engine, sequential", n, sequential),
        _timed("engine, 8 threads", n, threads),
        _timed("engine, queue (concurrency 8)", n, queue),
    ]


def bench_backend(name: str, url: str, n: int) -> list[tuple[str, int, float, float]]:
    rows = [baseline(url, n)]
    settings = Settings(
        database=DatabaseSettings(url=url),
        engine=EngineSettings(queues={"bench": QueueLimits(concurrency=8)}),
    )
    engine = build_workflow_engine(settings, executor_id=f"bench-{name}", poll_seconds=0.05)
    try:
        rows += engine_modes(engine, n, uuid.uuid4().hex[:6])
    finally:
        engine.shutdown()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=300, help="workflows per mode")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres")
    arguments = parser.parse_args()

    results: dict[str, list[tuple[str, int, float, float]]] = {}
    with tempfile.TemporaryDirectory() as folder:
        results["SQLite (WAL)"] = bench_backend(
            "sqlite", f"sqlite:///{Path(folder) / 'hub.sqlite'}", arguments.n
        )
    database = f"cs_bench_{uuid.uuid4().hex[:8]}"
    admin_url = arguments.postgres
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{database}"')
    try:
        url = make_url(admin_url).set(database=database).render_as_string(hide_password=False)
        results["PostgreSQL"] = bench_backend("postgres", url, arguments.n)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')

    print(f"{'backend':<14} {'mode':<34} {'n':>5} {'seconds':>8} {'wf/s':>7} {'CPU ms/wf':>10}")
    for backend, rows in results.items():
        for label, n, wall, cpu in rows:
            print(
                f"{backend:<14} {label:<34} {n:>5} {wall:>8.2f} {n / wall:>7.0f} {cpu / n * 1000:>10.1f}"
            )


if __name__ == "__main__":
    main()
