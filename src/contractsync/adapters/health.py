"""Probes of the hub's own infrastructure for ``contractsync check``: databases, NATS, webhook keys.

Every probe returns a :class:`~contractsync.ports.systems.SystemHealth` when it could look
(``ok`` says whether what it saw is healthy) and raises a ContractSyncError, carrying the
remediation, when it could not. Probes only read: none creates a database file, a schema or
a stream. Nothing here prints or returns a secret; URLs are shown with the password hidden.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import nats
from nats.errors import Error as NatsError
from nats.errors import NoRespondersError
from nats.js.errors import NotFoundError, ServiceUnavailableError
from pydantic import SecretStr
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from contractsync.adapters.ingress import build_verifier
from contractsync.adapters.persistence.engine import create_engine_for, normalise_url
from contractsync.adapters.persistence.migrate import ensure_current, head
from contractsync.errors import ConfigError, TransientError
from contractsync.ports.systems import SystemHealth

CONNECT_TIMEOUT_SECONDS = 5
"""How long a probe waits for a server to accept a connection."""


@dataclass(frozen=True, slots=True)
class HealthCheck:
    """One row of ``contractsync check``.

    Attributes:
        name: What is checked (``hub database``, ``system crm (salesforce)``).
        probe: Looks now; returns what it saw or raises a ContractSyncError.
        next_step: What to do when the probe reports ``ok=False`` without raising.
    """

    name: str
    probe: Callable[[], SystemHealth]
    next_step: str


class CheckableSystem(Protocol):
    """Any external system adapter: every port by role has these two members."""

    system: str

    def check(self) -> SystemHealth:
        """Report reachability, authentication and version; never raises."""
        ...


class SecretSource(Protocol):
    """Where a secret lives (``config.SecretRef``): named by env var or file, read on demand."""

    @property
    def env(self) -> str | None:
        """The environment variable holding it."""
        ...

    @property
    def file(self) -> Path | None:
        """The file holding it."""
        ...

    def reveal(self) -> SecretStr:
        """Read it; ConfigError naming the place (never the value) when unavailable."""
        ...


def _elapsed_ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)


def _with_connect_timeout(url: URL) -> URL:
    # libpq waits for the OS (minutes) on an unroutable host unless told otherwise.
    if url.get_backend_name() == "postgresql" and "connect_timeout" not in url.query:
        return url.update_query_dict({"connect_timeout": str(CONNECT_TIMEOUT_SECONDS)})
    return url


def _sqlite_file(url: URL) -> Path | None:
    database = url.database or ""
    if url.get_backend_name() != "sqlite" or database in {"", ":memory:"}:
        return None
    return Path(database).expanduser()


def probe_hub_database(url: str) -> SystemHealth:
    """Check that the hub database is reachable and at this release's migration head.

    Raises:
        ConfigError: A bad URL, a missing SQLite file, an unreachable server or an
            outdated schema; the remediation says what to run.
    """
    parsed = normalise_url(url)
    where = parsed.render_as_string(hide_password=True)
    path = _sqlite_file(parsed)
    if path is not None and not path.is_file():
        raise ConfigError(
            f"there is no hub database at {path}",
            code="database.missing",
            remediation="Run `contractsync db upgrade` (same config) to create it.",
        )
    started = time.perf_counter()
    engine = create_engine_for(_with_connect_timeout(parsed))
    try:
        ensure_current(engine)
    finally:
        engine.dispose()
    revision = head()
    return SystemHealth(
        system="hub database",
        ok=True,
        latency_ms=_elapsed_ms(started),
        version=f"revision {revision}",
        detail=f"{where}: migrated to the latest revision",
    )


def probe_engine_database(url: str) -> SystemHealth:
    """Check that the workflow engine's system database is reachable (or can be created).

    A SQLite file that does not exist yet is healthy when its folder is writable: the first
    worker creates it. On PostgreSQL the engine's ``dbos`` schema may be absent for the same
    reason; the detail says which.

    Raises:
        ConfigError: The server is unreachable or refuses the login, or the SQLite file
            cannot be opened or created.
    """
    parsed = normalise_url(url)
    where = parsed.render_as_string(hide_password=True)
    started = time.perf_counter()
    path = _sqlite_file(parsed)
    if path is not None:
        return SystemHealth(
            system="workflow engine database",
            ok=True,
            latency_ms=_elapsed_ms(started),
            detail=_inspect_sqlite(path),
        )
    engine = create_engine(_with_connect_timeout(parsed), poolclass=NullPool)
    try:
        with engine.connect() as connection:
            version = connection.execute(text("SHOW server_version")).scalar_one()
            has_schema = connection.execute(
                text("SELECT 1 FROM information_schema.schemata WHERE schema_name = 'dbos'")
            ).first()
    except DBAPIError as exc:
        raise ConfigError(
            f"cannot reach the workflow engine database at {where}",
            code="engine.database_unreachable",
            remediation="Start the database server or fix engine.system_database_url "
            "(or database.url, which it defaults to).",
            detail={"reason": type(exc.orig).__name__},
        ) from exc
    finally:
        engine.dispose()
    schema = "schema dbos present" if has_schema else "schema dbos not created yet (first worker)"
    return SystemHealth(
        system="workflow engine database",
        ok=True,
        latency_ms=_elapsed_ms(started),
        version=f"PostgreSQL {version}",
        detail=f"{where}: {schema}",
    )


def _inspect_sqlite(path: Path) -> str:
    if not path.exists():
        folder = next((p for p in path.parents if p.exists()), Path("."))
        if not folder.is_dir() or not _is_writable(folder):
            raise ConfigError(
                f"the workflow engine cannot create {path}: {folder} is not writable",
                code="engine.database_unwritable",
                remediation="Make the folder writable by contractsync or move the database.",
            )
        return f"{path} not created yet; the first worker creates it"
    try:
        # Read-only URI: a check must not create or change the file.
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5) as connection:
            tables = connection.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
    except sqlite3.Error as exc:
        raise ConfigError(
            f"the workflow engine database {path} cannot be read",
            code="engine.database_unreadable",
            remediation="Check the file's permissions, or remove a file that is not SQLite.",
            detail={"reason": str(exc)},
        ) from exc
    return f"{path} ({tables} schema objects)"


def _is_writable(folder: Path) -> bool:
    return os.access(folder, os.W_OK | os.X_OK)


def probe_nats(url: str, *, stream: str, subjects: str) -> SystemHealth:
    """Check that NATS answers, JetStream is on and ``stream`` exists capturing ``subjects``.

    Raises:
        TransientError: The server is unreachable.
        ConfigError: JetStream is off, or the stream does not exist.
    """
    started = time.perf_counter()
    try:
        version, captured, messages = asyncio.run(_inspect_stream(url, stream))
    except NotFoundError as exc:
        raise ConfigError(
            f"NATS at {url} has no JetStream stream {stream}",
            code="events.stream_missing",
            remediation="Start `contractsync serve` or a worker with messaging.bus = nats (the "
            f"outbox relay creates it), or: nats stream add {stream} --subjects '{subjects}'.",
        ) from exc
    except (ServiceUnavailableError, NoRespondersError) as exc:
        raise ConfigError(
            f"NATS at {url} answers but JetStream is not enabled",
            code="events.jetstream_disabled",
            remediation="Run nats-server with JetStream (-js, or jetstream {} in its config).",
        ) from exc
    except (NatsError, OSError) as exc:  # TimeoutError is an OSError
        raise TransientError(
            f"NATS at {url} is unreachable ({type(exc).__name__})",
            code="events.bus_unavailable",
            remediation="Start nats-server -js at that address, or fix messaging.nats_url.",
        ) from exc
    healthy = subjects in captured
    detail = f"stream {stream}: {messages} message(s), subjects {', '.join(captured) or 'none'}"
    if not healthy:
        detail += f"; it does not capture {subjects}"
    return SystemHealth(
        system="nats",
        ok=healthy,
        latency_ms=_elapsed_ms(started),
        version=f"nats-server {version}",
        detail=detail,
    )


async def _inspect_stream(url: str, stream: str) -> tuple[str, list[str], int]:
    async def quiet(_error: Exception) -> None:
        """nats-py logs each failed attempt with a traceback by default; the probe reports."""

    client = await asyncio.wait_for(
        nats.connect(
            url,
            name="contractsync-check",
            connect_timeout=CONNECT_TIMEOUT_SECONDS,
            # 0 would mean "no limit" inside nats-py's server selection: one try, no wait.
            allow_reconnect=False,
            max_reconnect_attempts=1,
            reconnect_time_wait=0.1,
            error_cb=quiet,
        ),
        CONNECT_TIMEOUT_SECONDS + 1,
    )
    try:
        info = await client.jetstream(timeout=CONNECT_TIMEOUT_SECONDS).stream_info(stream)
        server = client.connected_server_version
        version = f"{server.major}.{server.minor}.{server.patch}"
    finally:
        await client.close()
    return version, list(info.config.subjects or []), info.state.messages


def _place(secret: SecretSource) -> str:
    return f"env {secret.env}" if secret.env is not None else f"file {secret.file}"


def probe_webhook_keys(
    source: str, scheme: str, secrets: Sequence[SecretSource], *, tolerance_seconds: float
) -> SystemHealth:
    """Check that every key of a webhook source can be read and is one its scheme accepts.

    Raises:
        ConfigError: A key's variable or file is missing or empty, or the scheme refuses a
            key (weak, malformed); the message names the place, never the value.
    """
    started = time.perf_counter()
    keys = [secret.reveal().get_secret_value() for secret in secrets]
    build_verifier(scheme, keys, tolerance_seconds=tolerance_seconds, unix_time=time.time)
    places = ", ".join(_place(secret) for secret in secrets)
    return SystemHealth(
        system=f"webhook {source}",
        ok=True,
        latency_ms=_elapsed_ms(started),
        detail=f"{len(keys)} {scheme} key(s) readable from {places}",
    )


__all__ = [
    "CONNECT_TIMEOUT_SECONDS",
    "CheckableSystem",
    "HealthCheck",
    "SecretSource",
    "probe_engine_database",
    "probe_hub_database",
    "probe_nats",
    "probe_webhook_keys",
]
