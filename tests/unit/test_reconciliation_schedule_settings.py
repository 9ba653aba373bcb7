"""The ``reconciliation`` settings: off by default, checked as they load and before a start."""

from __future__ import annotations

from pathlib import Path

import pytest

from contractsync.bootstrap import build_scheduled_reconciliation
from contractsync.config import load_settings
from contractsync.errors import ConfigError


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    for name in list(__import__("os").environ):
        if name.startswith("CONTRACTSYNC_"):
            monkeypatch.delenv(name)


def test_without_a_schedule_the_hub_never_reconciles_on_its_own() -> None:
    section = load_settings().reconciliation
    assert (section.schedule, section.timezone, section.heal, section.policy) == (
        None,
        "UTC",
        True,
        None,
    )


def test_a_five_field_schedule_heal_and_policy_are_read_from_the_file(tmp_path: Path) -> None:
    (tmp_path / "contractsync.yaml").write_text(
        "reconciliation:\n"
        '  schedule: "0 2 * * 1-5"\n'
        "  timezone: Europe/Berlin\n"
        "  heal: false\n"
        "  policy: policies/reconciliation.yaml\n"
    )
    section = load_settings().reconciliation
    assert section.schedule == "0 2 * * 1-5"
    assert section.timezone == "Europe/Berlin"
    assert section.heal is False
    assert section.policy == Path("policies/reconciliation.yaml")


def test_six_fields_put_seconds_first(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONTRACTSYNC_RECONCILIATION__SCHEDULE", "*/30 * * * * *")
    assert load_settings().reconciliation.schedule == "*/30 * * * * *"


@pytest.mark.parametrize(
    "schedule",
    ["61 2 * * *", "0 2 * *", "0 0 2 * * * 2030", "every day", "@daily", ""],
)
def test_a_schedule_that_is_not_five_or_six_cron_fields_is_refused_by_its_key(
    schedule: str,
) -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings(reconciliation={"schedule": schedule})
    assert "reconciliation.schedule:" in raised.value.message
    assert "is not a cron expression" in raised.value.message
    assert '"0 2 * * *"' in raised.value.message  # the message shows a valid one


def test_a_schedule_that_never_fires_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"reconciliation\.schedule: .*'0 2 30 2 \*' never fires"):
        load_settings(reconciliation={"schedule": "0 2 30 2 *"})


def test_an_unknown_time_zone_is_refused_by_its_key() -> None:
    with pytest.raises(ConfigError, match=r"reconciliation\.timezone: .*'Mars/Olympus'"):
        load_settings(reconciliation={"schedule": "0 2 * * *", "timezone": "Mars/Olympus"})


def test_an_unknown_key_in_the_section_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"reconciliation\.cron: Extra inputs"):
        load_settings(reconciliation={"cron": "0 2 * * *"})


# -- what a process started with a schedule checks before it launches -----------------------


def test_a_schedule_without_a_clm_and_an_erp_stops_the_process_at_start() -> None:
    settings = load_settings(reconciliation={"schedule": "0 2 * * *"})
    with pytest.raises(ConfigError, match="reconciliation needs a CLM and an ERP under systems"):
        build_scheduled_reconciliation(settings)


def test_a_schedule_with_an_unreadable_policy_stops_the_process_at_start(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("IRONCLAD_SECRET", "s3cret")
    monkeypatch.setenv("TRYTON_PASSWORD", "s3cret")
    (tmp_path / "contractsync.yaml").write_text(
        "reconciliation:\n"
        '  schedule: "0 2 * * *"\n'
        "  policy: missing-policy.yaml\n"
        "systems:\n"
        "  clm: {vendor: ironclad, options: {base_url: 'http://127.0.0.1:9', client_id: hub,"
        " as_user_email: hub@firm.example}, secrets: {client_secret: {env: IRONCLAD_SECRET}}}\n"
        "  erp: {vendor: tryton, options: {url: 'http://127.0.0.1:9', database: hub},"
        " secrets: {password: {env: TRYTON_PASSWORD}}}\n"
    )
    with pytest.raises(ConfigError, match=r"missing-policy\.yaml cannot be read"):
        build_scheduled_reconciliation(load_settings())
