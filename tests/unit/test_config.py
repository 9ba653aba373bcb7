from pathlib import Path

import pytest

from contractsync.config import load_settings
from contractsync.domain.ownership import DEFAULT_OWNERSHIP, SystemRole
from contractsync.errors import ConfigError


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    for name in list(__import__("os").environ):
        if name.startswith("CONTRACTSYNC_"):
            monkeypatch.delenv(name)


def test_defaults_give_an_embedded_sqlite_hub_with_the_default_ownership_map():
    settings = load_settings()
    assert settings.database.url.startswith("sqlite:///")
    assert settings.ownership == DEFAULT_OWNERSHIP


def test_the_yaml_file_in_the_working_directory_is_read(tmp_path: Path):
    (tmp_path / "contractsync.yaml").write_text("database:\n  url: postgresql://127.0.0.1/hub\n")
    assert load_settings().database.url == "postgresql://127.0.0.1/hub"


def test_an_environment_variable_beats_the_yaml_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    (tmp_path / "contractsync.yaml").write_text("database:\n  url: postgresql://127.0.0.1/hub\n")
    monkeypatch.setenv("CONTRACTSYNC_DATABASE__URL", "sqlite:///other.sqlite")
    assert load_settings().database.url == "sqlite:///other.sqlite"


def test_the_ownership_map_can_be_overridden_per_entity_and_field(tmp_path: Path):
    (tmp_path / "hub.yaml").write_text(
        "ownership:\n  rules:\n"
        "    - {entity: customer, owner: erp}\n"
        "    - {entity: billing_milestone, field: status, owner: erp}\n"
    )
    settings = load_settings(tmp_path / "hub.yaml")
    assert settings.ownership.owner_of("customer", "legal_name") is SystemRole.ERP
    assert settings.ownership.owner_of("billing_milestone", "status") is SystemRole.ERP


def test_an_unknown_key_is_refused_with_its_path_named(tmp_path: Path):
    (tmp_path / "contractsync.yaml").write_text("database:\n  uri: sqlite:///x\n")
    with pytest.raises(ConfigError, match=r"database\.uri: Extra inputs are not permitted"):
        load_settings()


def test_an_unknown_owner_system_is_refused(tmp_path: Path):
    (tmp_path / "contractsync.yaml").write_text(
        "ownership:\n  rules:\n    - {entity: customer, owner: sap}\n"
    )
    with pytest.raises(ConfigError, match=r"ownership\.rules\.0\.owner"):
        load_settings()


def test_a_missing_named_config_file_says_so(tmp_path: Path):
    with pytest.raises(ConfigError, match="does not exist") as info:
        load_settings(tmp_path / "missing.yaml")
    assert "--config" in info.value.remediation


def test_a_file_that_is_not_yaml_is_refused(tmp_path: Path):
    (tmp_path / "contractsync.yaml").write_text("database: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_settings()


def test_a_file_that_is_not_a_mapping_is_refused(tmp_path: Path):
    (tmp_path / "contractsync.yaml").write_text("- just\n- a list\n")
    with pytest.raises(ConfigError, match="must hold a mapping"):
        load_settings()
