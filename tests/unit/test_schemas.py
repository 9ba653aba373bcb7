"""The checked-in JSON Schemas in ``schemas/`` are exactly what the canonical model generates."""

from __future__ import annotations

import json
from pathlib import Path

from contractsync.domain.base import SCHEMA_VERSION
from contractsync.entrypoints.schema_export import (
    JSON_SCHEMA_DIALECT,
    SCHEMA_SUFFIX,
    canonical_models,
    render_schemas,
)

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"


def test_checked_in_schemas_equal_freshly_generated_ones() -> None:
    fresh = render_schemas()
    on_disk = {
        path.name: path.read_text(encoding="utf-8") for path in SCHEMAS.glob(f"*{SCHEMA_SUFFIX}")
    }
    missing = sorted(set(fresh) - set(on_disk))
    stale = sorted(set(on_disk) - set(fresh))
    changed = sorted(name for name in set(fresh) & set(on_disk) if fresh[name] != on_disk[name])
    problems = [missing, stale, changed]
    assert problems == [[], [], []], (
        "schemas/ disagrees with the canonical model "
        f"(missing: {missing}, no longer generated: {stale}, changed: {changed}). "
        "Run `make schemas` and commit schemas/ together with the model change."
    )


def test_every_document_and_exchanged_value_object_has_a_schema() -> None:
    expected = {
        "amendment", "billing_milestone", "billing_schedule", "contract", "contract_line",
        "customer", "exception_item", "external_ref", "finding", "legal_entity", "money",
        "obligation", "project", "rate_card", "revenue_schedule",
    }  # fmt: skip
    assert expected <= set(canonical_models())


def test_each_schema_declares_draft_2020_12_and_a_versioned_urn_id() -> None:
    for file_name, text in render_schemas().items():
        schema = json.loads(text)
        name = file_name.removesuffix(SCHEMA_SUFFIX)
        assert schema["$schema"] == JSON_SCHEMA_DIALECT
        assert schema["$id"] == f"urn:contractsync:schema:{name}:{SCHEMA_VERSION}"


def test_generation_is_deterministic_with_sorted_keys_and_a_trailing_newline() -> None:
    first, second = render_schemas(), render_schemas()
    assert first == second
    for text in first.values():
        assert text.endswith("}\n")
        assert (
            text
            == json.dumps(json.loads(text), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
        )
