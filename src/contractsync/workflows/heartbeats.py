"""Worker heartbeats in the hub database: who is alive, judged by the database clock.

Every worker keeps one row (executor id, host, pid, started_at, last_seen). Staleness is
always decided against the database's ``now``, never a worker's clock, so a worker with a
skewed clock can neither look dead nor keep a dead one looking alive.

Row locks make the hand-over safe. A survivor claims stale rows with ``SELECT ... FOR UPDATE
SKIP LOCKED`` and keeps them locked while it recovers their runs, then deletes them, so two
survivors never recover the same executor. A worker (re)starting under an executor id takes
the same row lock before it launches the engine, so it waits for a recovery in progress and
never has its fresh runs re-enqueued under it. On SQLite every write transaction is
``BEGIN IMMEDIATE`` (see ``adapters/persistence/engine``), which serialises the same steps.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from contractsync.errors import ConfigError

_LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class WorkerIdentity:
    """Who this worker is: its executor id and the process that holds it now."""

    executor_id: str
    host: str
    pid: int


@dataclass(frozen=True, slots=True)
class WorkerBeat:
    """One heartbeat row as read, with its staleness judged by the database clock."""

    executor_id: str
    host: str
    pid: int
    started_at: datetime
    last_seen: datetime
    is_stale: bool


class Heartbeats:
    """Read and write the ``worker_heartbeats`` table.

    Args:
        engine: The hub database engine.
        table: The ``worker_heartbeats`` table (executor_id, pid, host, started_at, last_seen).
        stale_after_seconds: A worker silent this long (database time) is presumed dead.
    """

    def __init__(self, engine: sa.Engine, table: sa.Table, *, stale_after_seconds: float) -> None:
        self._engine = engine
        self._table = table
        self.stale_after = timedelta(seconds=stale_after_seconds)

    def claim(self, me: WorkerIdentity, *, wait_seconds: float) -> None:
        """Take ``me.executor_id`` for this process and write the first heartbeat.

        The id is free when it has no row, its row is stale, or its row names a process on
        this host that no longer exists (a worker restarted after a crash takes its id back at
        once). A row kept fresh by a process elsewhere is waited out for up to
        ``wait_seconds``: it may be a worker that just died on another machine.

        Raises:
            ConfigError: when a live process holds the id (on this host), or another host
                keeps it fresh for ``wait_seconds``.
        """
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                holder = self._try_claim(me)
            except sa.exc.IntegrityError:
                continue  # another process inserted the id first; look at its row again
            if holder is None:
                return
            if holder.host == me.host or time.monotonic() > deadline:
                raise ConfigError(
                    f"executor id {me.executor_id!r} is in use by pid {holder.pid} on "
                    f"{holder.host}",
                    remediation="Give each worker its own --executor-id (or stop the other one).",
                )
            time.sleep(min(1.0, self.stale_after.total_seconds() / 4))

    def _try_claim(self, me: WorkerIdentity) -> WorkerBeat | None:
        table = self._table
        with self._engine.begin() as connection:
            now = database_now(connection)
            row = connection.execute(
                sa.select(table).where(table.c.executor_id == me.executor_id).with_for_update()
            ).first()
            if row is not None:
                holder = self._beat(row, now)
                is_mine = (holder.host, holder.pid) == (me.host, me.pid)
                is_dead_here = holder.host == me.host and not _is_alive(holder.pid)
                if not (is_mine or holder.is_stale or is_dead_here):
                    return holder
                connection.execute(sa.delete(table).where(table.c.executor_id == me.executor_id))
            connection.execute(
                sa.insert(table).values(
                    executor_id=me.executor_id,
                    host=me.host,
                    pid=me.pid,
                    started_at=now,
                    last_seen=now,
                )
            )
        return None

    def beat(self, me: WorkerIdentity) -> bool:
        """Refresh this worker's heartbeat; return False if its row had been removed.

        A removed row means a survivor presumed this worker dead and re-enqueued its runs
        (the engine fences the stale executions). The row is written again, so the worker is
        seen alive from now on.
        """
        table = self._table
        with self._engine.begin() as connection:
            now = database_now(connection)
            updated = connection.execute(
                sa.update(table)
                .where(table.c.executor_id == me.executor_id)
                .values(last_seen=now, host=me.host, pid=me.pid)
            )
            if updated.rowcount:
                return True
            connection.execute(
                sa.insert(table).values(
                    executor_id=me.executor_id,
                    host=me.host,
                    pid=me.pid,
                    started_at=now,
                    last_seen=now,
                )
            )
            return False

    def release(self, me: WorkerIdentity) -> None:
        """Mark this worker's row stale at once, so a survivor recovers whatever it left."""
        table = self._table
        with self._engine.begin() as connection:
            connection.execute(
                sa.update(table)
                .where(table.c.executor_id == me.executor_id, table.c.pid == me.pid)
                .values(last_seen=_LONG_AGO)
            )

    @contextmanager
    def stale_executors(self, me: WorkerIdentity) -> Iterator[list[str]]:
        """Lock the rows of presumed-dead workers other than ``me`` and yield their ids.

        Rows another survivor has locked are skipped. When the block ends without an error
        the rows are deleted in the same transaction; on an error they stay, for the next try.
        """
        table = self._table
        with self._engine.begin() as connection:
            threshold = database_now(connection) - self.stale_after
            ids = list(
                connection.execute(
                    sa.select(table.c.executor_id)
                    .where(table.c.last_seen < threshold, table.c.executor_id != me.executor_id)
                    .order_by(table.c.executor_id)
                    .with_for_update(skip_locked=True)
                ).scalars()
            )
            yield ids
            if ids:
                connection.execute(sa.delete(table).where(table.c.executor_id.in_(ids)))

    def workers(self) -> list[WorkerBeat]:
        """Return every heartbeat row, by executor id."""
        table = self._table
        with self._engine.connect() as connection:
            now = database_now(connection)
            rows = connection.execute(sa.select(table).order_by(table.c.executor_id)).all()
        return [self._beat(row, now) for row in rows]

    def _beat(self, row: sa.Row[tuple[object, ...]], now: datetime) -> WorkerBeat:
        last_seen = _utc(row.last_seen)
        return WorkerBeat(
            executor_id=row.executor_id,
            host=row.host,
            pid=row.pid,
            started_at=_utc(row.started_at),
            last_seen=last_seen,
            is_stale=last_seen < now - self.stale_after,
        )


def database_now(connection: sa.Connection) -> datetime:
    """Return the database server's current time, in UTC."""
    if connection.dialect.name == "sqlite":
        # Millisecond precision; CURRENT_TIMESTAMP only has seconds.
        text = connection.execute(sa.select(sa.func.strftime("%Y-%m-%d %H:%M:%f", "now"))).scalar()
        return datetime.fromisoformat(str(text)).replace(tzinfo=UTC)
    value = connection.execute(sa.select(sa.func.now())).scalar()
    assert isinstance(value, datetime)
    return _utc(value)


def _utc(value: datetime) -> datetime:
    # SQLite hands datetimes back without a zone; contractsync always writes UTC there.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True
