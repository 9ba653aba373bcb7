"""``contractsync check`` on a SQLite hub, with webhook keys and a Salesforce simulator on loopback."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from contractsync.adapters.health import HealthCheck
from contractsync.adapters.persistence.migrate import upgrade
from contractsync.entrypoints.check_cli import run_checks
from contractsync.entrypoints.cli import app
from contractsync.ports.systems import SystemHealth
from contractsync.simulators.salesforce import SalesforceSimulator
from contractsync.simulators.server import running

runner = CliRunner()

WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"k" * 32).decode()
SALESFORCE_SECRET = "sim-secret"


@pytest.fixture
def hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A migrated SQLite hub in a fresh working directory, a wide terminal, a webhook key."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "250")
    monkeypatch.setenv("HUB_WEBHOOK_KEY", WEBHOOK_SECRET)
    url = f"sqlite:///{tmp_path / 'var' / 'hub.sqlite'}"
    upgrade(url)
    return url


@pytest.fixture(scope="module")
def salesforce() -> Iterator[str]:
    with running(SalesforceSimulator()) as url:
        yield url


def _config(tmp_path: Path, **sections: Any) -> Path:
    path = tmp_path / "check.yaml"
    path.write_text(yaml.safe_dump(sections), encoding="utf-8")
    return path


def _check(config: Path, *extra: str) -> tuple[int, str, dict[str, dict[str, Any]]]:
    """Run the command twice (table, then JSON); return the exit code, the table, the rows."""
    table = runner.invoke(app, ["check", "--config", str(config), *extra])
    as_json = runner.invoke(app, ["check", "--config", str(config), "--json", *extra])
    assert as_json.exit_code == table.exit_code, as_json.output
    document = json.loads(as_json.stdout)
    assert document["ok"] is (table.exit_code == 0)
    return table.exit_code, table.output, {row["name"]: row for row in document["checks"]}


def _webhooks(env: str = "HUB_WEBHOOK_KEY") -> dict[str, Any]:
    return {"sources": {"crm": {"scheme": "standard_webhooks", "secrets": [{"env": env}]}}}


def test_a_migrated_hub_with_readable_webhook_keys_passes_every_check(
    hub: str, tmp_path: Path
) -> None:
    """Exit 0, one ok row per check, and the key is named by its variable, never shown."""
    config = _config(tmp_path, database={"url": hub}, ingress=_webhooks())
    code, table, rows = _check(config)
    assert code == 0, table
    assert list(rows) == ["settings", "hub database", "workflow engine database", "webhook crm"]
    assert all(row["ok"] and row["next_step"] == "" for row in rows.values())
    assert rows["hub database"]["detail"].endswith(": migrated to the latest revision")
    assert rows["hub database"]["detail"].startswith("revision ")
    assert "not created yet" in rows["workflow engine database"]["detail"]
    assert rows["webhook crm"]["detail"] == (
        "1 standard_webhooks key(s) readable from env HUB_WEBHOOK_KEY"
    )
    assert all(isinstance(row["latency_ms"], float) for row in rows.values())
    assert "all checks passed" in table
    assert WEBHOOK_SECRET not in table


@pytest.mark.parametrize(
    ("yaml_text", "named"),
    [
        ("messaging: {bus: kafka}\n", "messaging.bus"),
        ("database: [not, a, mapping]\n", "database"),
        ("ingress: {pollers: {psa: {}}}\n", "ingress.pollers names psa"),
        (
            "systems: {crm: {vendor: salesforce, options: {client_secret: x}, "
            "secrets: {client_secret: {env: X}}}}\n",
            "client_secret must be given under secrets",
        ),
    ],
)
def test_invalid_settings_are_a_failed_settings_row_not_a_traceback(
    hub: str, tmp_path: Path, yaml_text: str, named: str
) -> None:
    """Nothing else is checked when the settings are invalid; the row names the key."""
    config = tmp_path / "bad.yaml"
    config.write_text(yaml_text, encoding="utf-8")
    code, table, rows = _check(config)
    assert code == 1
    assert list(rows) == ["settings"]
    assert named in rows["settings"]["detail"]
    assert "contractsync.yaml" in rows["settings"]["next_step"]
    assert "Traceback" not in table


def test_a_missing_config_file_is_reported_with_what_to_do(hub: str, tmp_path: Path) -> None:
    code, _, rows = _check(tmp_path / "nowhere.yaml")
    assert code == 1
    assert "does not exist" in rows["settings"]["detail"]
    assert "--config" in rows["settings"]["next_step"]


def test_a_hub_database_that_is_missing_or_not_migrated_fails_with_the_upgrade_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    missing = _config(tmp_path, database={"url": f"sqlite:///{tmp_path / 'none.sqlite'}"})
    code, _, rows = _check(missing)
    assert code == 1
    assert rows["hub database"]["detail"].startswith("there is no hub database at")
    assert "contractsync db upgrade" in rows["hub database"]["next_step"]
    assert not (tmp_path / "none.sqlite").exists()  # the check created nothing

    empty = tmp_path / "empty.sqlite"
    empty.write_bytes(b"")
    code, _, rows = _check(_config(tmp_path, database={"url": f"sqlite:///{empty}"}))
    assert code == 1
    assert "has no contractsync tables" in rows["hub database"]["detail"]


def test_a_webhook_key_that_cannot_be_read_or_is_weak_fails_naming_where_it_lives(
    hub: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The variable or file is named; a weak key's value is never printed."""
    weak = "whsec_" + base64.b64encode(b"short-key-value!").decode()
    monkeypatch.setenv("WEAK_KEY", weak)
    ingress = {
        "sources": {
            "crm": {"scheme": "standard_webhooks", "secrets": [{"env": "UNSET_KEY"}]},
            "erp": {"scheme": "standard_webhooks", "secrets": [{"env": "WEAK_KEY"}]},
            "clm": {"scheme": "ironclad", "secrets": [{"file": str(tmp_path / "no.pem")}]},
        }
    }
    code, table, rows = _check(_config(tmp_path, database={"url": hub}, ingress=ingress))
    assert code == 1
    assert "UNSET_KEY" in rows["webhook crm"]["detail"]
    assert not rows["webhook erp"]["ok"]
    assert "no.pem" in rows["webhook clm"]["detail"]
    assert rows["hub database"]["ok"]
    assert weak not in table
    assert weak not in json.dumps(rows)


def test_a_system_is_checked_through_its_adapter_and_its_secret_is_never_shown(
    hub: str, tmp_path: Path, salesforce: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The Salesforce simulator answers the adapter's check; a wrong secret fails the row."""
    monkeypatch.setenv("SF_SECRET", SALESFORCE_SECRET)
    monkeypatch.setenv("SF_WRONG", "not-the-secret-at-all")
    options = {"instance_url": salesforce, "client_id": "sim-client"}
    systems = {
        "crm": {
            "vendor": "salesforce",
            "options": options,
            "secrets": {"client_secret": {"env": "SF_SECRET"}},
        },
        "crm-old": {
            "vendor": "salesforce",
            "options": options,
            "secrets": {"client_secret": {"env": "SF_WRONG"}},
        },
    }
    code, table, rows = _check(_config(tmp_path, database={"url": hub}, systems=systems))
    assert code == 1
    assert rows["system crm (salesforce)"]["ok"], rows
    assert "API requests today" in rows["system crm (salesforce)"]["detail"]
    failed = rows["system crm-old (salesforce)"]
    assert not failed["ok"]
    assert "systems.crm-old" in failed["next_step"]
    assert SALESFORCE_SECRET not in table
    assert "not-the-secret-at-all" not in table


def test_a_system_whose_options_do_not_fit_its_adapter_fails_naming_the_key(
    hub: str, tmp_path: Path
) -> None:
    systems = {"erp": {"vendor": "netsuite", "options": {"account_id": "123", "colour": "red"}}}
    code, _, rows = _check(_config(tmp_path, database={"url": hub}, systems=systems))
    assert code == 1
    detail = rows["system erp (netsuite)"]["detail"]
    assert "systems.erp.colour" in detail
    assert "systems.erp.client_id" in detail


def _sleeping(name: str, seconds: float) -> HealthCheck:
    def probe() -> SystemHealth:
        time.sleep(seconds)
        return SystemHealth(system=name, ok=True, detail="slept")

    return HealthCheck(name, probe, "wake it up")


def test_checks_run_in_parallel_and_a_check_past_its_timeout_fails_without_holding_the_rest() -> (
    None
):
    started = time.monotonic()
    seen: list[str] = []
    results = run_checks(
        [_sleeping("a", 0.3), _sleeping("b", 0.3), _sleeping("stuck", 30), _sleeping("c", 0.3)],
        timeout=1.0,
        on_result=lambda r: seen.append(r.name),
    )
    assert time.monotonic() - started < 2.0
    assert [r.name for r in results] == ["a", "b", "stuck", "c"]
    assert [r.ok for r in results] == [True, True, False, True]
    assert results[2].detail == "no answer within 1 s"
    assert sorted(seen) == ["a", "b", "c", "stuck"]


def test_a_check_that_crashes_is_a_failed_row_showing_only_the_error_type() -> None:
    def probe() -> SystemHealth:
        raise RuntimeError("token=abc123 leaked in a message")

    (result,) = run_checks([HealthCheck("odd", probe, "")], timeout=5)
    assert not result.ok
    assert result.detail == "the check failed unexpectedly (RuntimeError)"
