"""Pydantic DTOs of Kantata's wire objects; they never leave ``adapters/kantata``.

Kantata answers in a normalized shape: ``results`` gives the order as ``{key, id}`` pairs and
each object sits under its type's key, indexed by id. ``Normalized`` reads that back into
ordered objects (a duplicated event id yields the object twice, as ``results`` lists it).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from contractsync.errors import DataError


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


M = TypeVar("M", bound=_Wire)


class ApiError(_Wire):
    """One entry of the ``errors`` array."""

    type: str = ""
    message: str = ""
    field: str | None = None


class Meta(_Wire):
    """Paging of a list answer."""

    count: int = 0
    page_count: int = 0
    page_number: int = 1
    page_size: int = 20


class Normalized(_Wire):
    """A normalized answer."""

    count: int = 0
    results: list[dict[str, str]] = Field(default_factory=list)
    meta: Meta = Field(default_factory=Meta)
    objects: dict[str, dict[str, dict[str, Any]]] = Field(default_factory=dict)

    @classmethod
    def read(cls, raw: Any) -> Normalized:
        """Split a decoded answer into its envelope and its objects by key.

        Raises:
            DataError: ``kantata.payload_invalid`` when the answer is not normalized.
        """
        if not isinstance(raw, dict) or not isinstance(raw.get("results"), list):
            raise DataError(
                "Kantata answered without a results array.",
                code="kantata.payload_invalid",
                remediation="Check the API host in the Kantata settings.",
            )
        envelope = {k: raw[k] for k in ("count", "results", "meta") if k in raw}
        objects = {k: v for k, v in raw.items() if k not in envelope and isinstance(v, dict)}
        return cls.model_validate({**envelope, "objects": objects})

    def ordered(self, key: str) -> list[dict[str, Any]]:
        """The objects of ``key`` in ``results`` order, each with its ``id``."""
        found = self.objects.get(key, {})
        return [
            {**found[r["id"]], "id": r["id"]}
            for r in self.results
            if r.get("key") == key and r.get("id") in found
        ]

    def included(self, key: str) -> dict[str, dict[str, Any]]:
        """Associated objects of ``key`` by id (from ``include=``)."""
        return self.objects.get(key, {})


class Workspace(_Wire):
    """A project."""

    id: str
    title: str = ""
    description: str | None = ""
    start_date: dt.date | None = None
    due_date: dt.date | None = None
    archived: bool = False
    external_reference_ids: list[str] = Field(default_factory=list)


class Story(_Wire):
    """A task, deliverable, milestone or issue."""

    id: str
    title: str = ""
    description: str | None = ""
    story_type: str = "task"
    state: str = ""
    workspace_id: str
    due_date: dt.date | None = None
    external_reference_ids: list[str] = Field(default_factory=list)

    @field_validator("workspace_id", mode="before")
    @classmethod
    def _text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) else value


class ExternalReference(_Wire):
    """A link between a Kantata object and an id in another system."""

    id: str
    subject_type: str
    subject_id: str
    service_name: str
    service_model: str
    service_model_ref: str

    @field_validator("subject_id", mode="before")
    @classmethod
    def _text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) else value


def _object(value: Any) -> Any:
    # The documented schema types payloads as strings (JSON text); accept objects as well.
    if isinstance(value, str):
        try:
            return json.loads(value) if value else {}
        except ValueError:
            return {"raw": value}
    return {} if value is None else value


class SubscribedEvent(_Wire):
    """One recorded change; ``id`` comes from ``results`` (the object itself has none)."""

    id: str
    event_type: str
    subject_type: str
    subject_id: str
    created_at: dt.datetime
    subject_changed_at: dt.datetime | None = None
    user_id: int | None = None
    current_payload: dict[str, Any] = Field(default_factory=dict)
    previous_payload: dict[str, Any] = Field(default_factory=dict)
    payload_changes: dict[str, Any] = Field(default_factory=dict)

    _payloads = field_validator(
        "current_payload", "previous_payload", "payload_changes", mode="before"
    )(_object)

    @field_validator("subject_id", mode="before")
    @classmethod
    def _text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) else value


def read(cls: type[M], raw: dict[str, Any]) -> M:
    """Validate one wire object; a failure is a ``DataError`` naming the fields."""
    try:
        return cls.model_validate(raw)
    except ValidationError as exc:
        bad = sorted({str(e["loc"][0]) for e in exc.errors() if e["loc"]})
        raise DataError(
            f"Kantata sent a {cls.__name__} whose field(s) {', '.join(bad)} are missing or invalid.",
            code="kantata.payload_invalid",
            remediation="Check the object in Kantata, then retry.",
            detail={"object": cls.__name__, "fields": bad, "id": raw.get("id")},
        ) from None


def api_errors(raw: Any) -> list[ApiError]:
    """The ``errors`` array of a decoded error answer; empty for anything else."""
    if not isinstance(raw, dict) or not isinstance(raw.get("errors"), list):
        return []
    return [ApiError.model_validate(e) for e in raw["errors"] if isinstance(e, dict)]


__all__ = [
    "ApiError",
    "ExternalReference",
    "Meta",
    "Normalized",
    "Story",
    "SubscribedEvent",
    "Workspace",
    "api_errors",
    "read",
]
