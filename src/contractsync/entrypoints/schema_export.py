"""Generates one JSON Schema (draft 2020-12) per canonical entity, byte-for-byte reproducible."""

from __future__ import annotations

import importlib
import json
import pkgutil
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel

import contractsync.domain
from contractsync.domain.base import SCHEMA_VERSION, Document
from contractsync.domain.contract_line import ContractLine
from contractsync.domain.finding import Finding
from contractsync.domain.identity import ExternalRef
from contractsync.domain.milestone import BillingMilestone
from contractsync.domain.money import Money
from contractsync.domain.obligation import Obligation
from contractsync.domain.rate_card import RateCard
from contractsync.errors import ConfigError

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
"""The ``$schema`` every exported file declares."""

SCHEMA_SUFFIX = ".schema.json"
"""File name suffix of an exported schema: ``<name>.schema.json``."""

ID_PREFIX = "urn:contractsync:schema:"
"""Start of every exported ``$id``; the full form is ``urn:contractsync:schema:<name>:<version>``."""

_PARTS: dict[str, type[BaseModel]] = {
    "billing_milestone": BillingMilestone,
    "contract_line": ContractLine,
    "external_ref": ExternalRef,
    "finding": Finding,
    "money": Money,
    "obligation": Obligation,
    "rate_card": RateCard,
}
"""Value objects that other systems exchange on their own, so they get a schema too."""


@dataclass(frozen=True)
class ExportResult:
    """What :func:`export_schemas` did: the files it wrote and the stale ones it removed."""

    written: tuple[Path, ...]
    removed: tuple[Path, ...]


def canonical_models() -> dict[str, type[BaseModel]]:
    """Return every canonical entity by schema name, names in order.

    That is every :class:`~contractsync.domain.base.Document` subclass in
    ``contractsync.domain`` (found by importing each domain module, so a new document gets
    a schema without editing this list) plus the value objects in :data:`_PARTS`.

    Raises:
        ConfigError: if two entities claim the same schema name.
    """
    for module in pkgutil.iter_modules(contractsync.domain.__path__):
        importlib.import_module(f"{contractsync.domain.__name__}.{module.name}")
    models: dict[str, type[BaseModel]] = dict(_PARTS)
    for document in _subclasses(Document):
        # Tests and plugins may subclass Document too; only the canonical model is exported.
        if not document.__module__.startswith(f"{contractsync.domain.__name__}."):
            continue
        name = getattr(document, "schema_name", None) or _snake_case(document.__name__)
        known = models.get(name)
        if known is not None and known is not document:
            raise ConfigError(
                f"{document.__qualname__} and {known.__qualname__} both use schema name {name!r}",
                code="schema.name_clash",
                remediation="Give one of the two classes another schema_name.",
            )
        models[name] = document
    return dict(sorted(models.items()))


def schema_id(name: str) -> str:
    """Return the ``$id`` of the schema called ``name`` for the current schema version."""
    return f"{ID_PREFIX}{name}:{SCHEMA_VERSION}"


def schema_for(name: str, model: type[BaseModel]) -> dict[str, Any]:
    """Return the JSON Schema of ``model`` (validation mode: what a sender may submit)."""
    generated = model.model_json_schema(mode="validation")
    return {"$schema": JSON_SCHEMA_DIALECT, "$id": schema_id(name), **generated}


def render_schemas() -> dict[str, str]:
    """Return the text of every schema file by file name, deterministically formatted.

    Keys are sorted, indentation is two spaces and every file ends with a newline, so a
    regenerated file differs from the checked-in one only when a model changed.
    """
    return {
        f"{name}{SCHEMA_SUFFIX}": json.dumps(
            schema_for(name, model), indent=2, sort_keys=True, ensure_ascii=False
        )
        + "\n"
        for name, model in canonical_models().items()
    }


def export_schemas(directory: Path) -> ExportResult:
    """Write every schema into ``directory`` and remove contractsync schemas no entity has.

    Only files named ``*.schema.json`` whose ``$id`` starts with :data:`ID_PREFIX` are ever
    removed, so other files in the folder are left alone.

    Raises:
        ConfigError: if ``directory`` cannot be created or written.
    """
    files = render_schemas()
    try:
        directory.mkdir(parents=True, exist_ok=True)
        written = []
        for file_name, text in files.items():
            target = directory / file_name
            target.write_text(text, encoding="utf-8")
            written.append(target)
        removed = []
        for stale in sorted(directory.glob(f"*{SCHEMA_SUFFIX}")):
            if stale.name not in files and _is_ours(stale):
                stale.unlink()
                removed.append(stale)
    except OSError as exc:
        raise ConfigError(
            f"cannot write schemas to {directory}: {exc.strerror or exc}",
            code="schema.export_failed",
            remediation="Pass a folder you can write to, e.g. `contractsync schema export schemas`.",
            detail={"directory": str(directory)},
        ) from exc
    return ExportResult(written=tuple(written), removed=tuple(removed))


def _is_ours(path: Path) -> bool:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and str(data.get("$id", "")).startswith(ID_PREFIX)


def _subclasses(cls: type[Document]) -> list[type[Document]]:
    found: list[type[Document]] = []
    for sub in cls.__subclasses__():
        found.append(sub)
        found.extend(_subclasses(sub))
    return found


def _snake_case(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()
