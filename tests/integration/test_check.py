"""``contractsync check`` against the real PostgreSQL (127.0.0.1:5432) and NATS (127.0.0.1:4222).

These tests fail (never skip) when either server is down: the all-green case needs both.
"""

from __future__ import annotations

import asyncio
import base64
import json
import socket
import uuid
from pathlib import Path
from typing import Any

import nats
import pytest
import yaml
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from contractsync.adapters.messaging.nats import JetStreamBus, StreamSpec
from contractsync.adapters.persistence.migrate import upgrade
from contractsync.entrypoints.cli import app
from contractsync.simulators.salesforce import SalesforceSimulator
from contractsync.simulators.server import running

pytestmark = [pytest.mark.postgres, pytest.mark.nats]

NATS_URL = "nats://127.0.0.1:4222"
WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"integration-key-" * 2).decode()
DB_PASSWORD = "pw-n0t-2-b3-sh0wn"

runner = CliRunner()


@pytest.fixture
def stream() -> str:
    """The hub's own stream (``contractsync.>``), ensured as the outbox relay does it.

    It is never deleted: JetStream refuses a second stream on the same subjects, and other
    processes on this server may use it.
    """
    spec = StreamSpec()
    with JetStreamBus(NATS_URL, spec):
        pass
    return spec.name


@pytest.fixture
def hub_url(postgres_schema_url: str) -> str:
    upgrade(postgres_schema_url)
    return postgres_schema_url


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "250")
    monkeypatch.setenv("HUB_WEBHOOK_KEY", WEBHOOK_SECRET)
    monkeypatch.setenv("SF_SECRET", "sim-secret")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def _settings(
    hub_url: str, *, nats_url: str = NATS_URL, stream: str, **more: Any
) -> dict[str, Any]:
    return {
        "database": {"url": hub_url},
        "messaging": {"bus": "nats", "nats_url": nats_url, "stream": stream},
        "ingress": {
            "sources": {
                "crm": {"scheme": "standard_webhooks", "secrets": [{"env": "HUB_WEBHOOK_KEY"}]}
            }
        },
        **more,
    }


def _check(tmp_path: Path, settings: dict[str, Any]) -> tuple[int, str, dict[str, Any]]:
    config = tmp_path / "contractsync.yaml"
    config.write_text(yaml.safe_dump(settings), encoding="utf-8")
    table = runner.invoke(app, ["check", "--config", str(config)])
    document = runner.invoke(app, ["check", "--config", str(config), "--json"])
    assert document.exit_code == table.exit_code, document.output
    rows = {row["name"]: row for row in json.loads(document.stdout)["checks"]}
    return table.exit_code, table.output, rows


def _with_password(url: str) -> str:
    return make_url(url).set(password=DB_PASSWORD).render_as_string(hide_password=False)


def test_every_check_passes_against_the_real_postgresql_nats_and_a_served_system(
    env: None, tmp_path: Path, hub_url: str, stream: str
) -> None:
    """Exit 0: settings, hub database, engine database, NATS stream, webhook keys, the CRM."""
    with running(SalesforceSimulator()) as salesforce:
        systems = {
            "crm": {
                "vendor": "salesforce",
                "options": {"instance_url": salesforce, "client_id": "sim-client"},
                "secrets": {"client_secret": {"env": "SF_SECRET"}},
            }
        }
        code, table, rows = _check(tmp_path, _settings(hub_url, stream=stream, systems=systems))
    assert code == 0, table
    assert list(rows) == [
        "settings",
        "hub database",
        "workflow engine database",
        "nats",
        "webhook crm",
        "system crm (salesforce)",
    ]
    assert all(row["ok"] for row in rows.values()), rows
    assert rows["hub database"]["detail"].startswith("revision ")
    assert "; postgresql+psycopg://postgres@127.0.0.1:5432/test?" in rows["hub database"]["detail"]
    assert rows["workflow engine database"]["detail"].endswith(
        "schema dbos not created yet (first worker)"
    )
    assert rows["nats"]["detail"].startswith("nats-server 2.")
    assert f"; stream {stream}: " in rows["nats"]["detail"]
    assert rows["nats"]["detail"].endswith("subjects contractsync.>")
    assert "all checks passed" in table
    assert WEBHOOK_SECRET not in table
    assert "sim-secret" not in table


def test_a_wrong_database_url_fails_both_database_rows_and_never_shows_the_password(
    env: None, tmp_path: Path, hub_url: str, stream: str
) -> None:
    """A database that does not exist: exit 1, clear rows, the password masked."""
    wrong = _with_password(
        make_url(hub_url).set(database="no_such_database").render_as_string(False)
    )
    code, table, rows = _check(tmp_path, _settings(wrong, stream=stream))
    assert code == 1
    hub = rows["hub database"]
    assert not hub["ok"]
    assert hub["detail"].startswith(
        "cannot reach the hub database at postgresql+psycopg://postgres:***@"
    )
    assert "no_such_database" in hub["detail"]
    assert hub["next_step"] == "Start the database server or fix database.url, then try again."
    assert not rows["workflow engine database"]["ok"]
    assert rows["nats"]["ok"]
    assert rows["webhook crm"]["ok"]
    assert DB_PASSWORD not in table
    assert DB_PASSWORD not in json.dumps(rows)


def test_an_unreachable_nats_port_fails_the_nats_row_with_exit_1(
    env: None, tmp_path: Path, hub_url: str
) -> None:
    """Nothing listens on the port: the row says unreachable and how to fix it; fast."""
    code, table, rows = _check(
        tmp_path, _settings(hub_url, nats_url=f"nats://127.0.0.1:{_free_port()}", stream="ANY")
    )
    assert code == 1
    row = rows["nats"]
    assert not row["ok"]
    assert "is unreachable" in row["detail"]
    assert "nats-server -js" in row["next_step"]
    assert row["latency_ms"] < 5000
    assert rows["hub database"]["ok"]
    assert "1 failed" in table


def test_a_stream_that_does_not_exist_is_reported_and_not_created(
    env: None, tmp_path: Path, hub_url: str
) -> None:
    name = f"NOPE_{uuid.uuid4().hex[:8].upper()}"
    code, _, rows = _check(tmp_path, _settings(hub_url, stream=name))
    assert code == 1
    assert rows["nats"]["detail"] == f"NATS at {NATS_URL} has no JetStream stream {name}"
    assert "nats stream add" in rows["nats"]["next_step"]

    async def exists() -> bool:
        client = await nats.connect(NATS_URL)
        try:
            await client.jetstream().stream_info(name)
        except nats.js.errors.NotFoundError:
            return False
        finally:
            await client.close()
        return True

    assert not asyncio.run(exists())
