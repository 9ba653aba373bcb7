"""Base classes shared by every canonical entity."""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

SCHEMA_VERSION = "1.0"
"""Version of the canonical JSON Schemas. Bump the major part on any incompatible change."""


class ValueObject(BaseModel):
    """An immutable, strictly validated part of a canonical document; unknown fields are refused."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


class Document(ValueObject):
    """A top-level canonical entity: it carries the schema version it was written against.

    Reading a document written against another major version fails loudly instead of
    guessing what its fields mean.
    """

    schema_name: ClassVar[str]
    schema_version: str = Field(
        default=SCHEMA_VERSION,
        description="Version of the canonical schema this document follows.",
    )

    @field_validator("schema_version")
    @classmethod
    def _same_major_version(cls, value: str) -> str:
        if value.split(".")[0] != SCHEMA_VERSION.split(".")[0]:
            raise ValueError(
                f"schema_version {value!r} is not readable by this release "
                f"(it reads {SCHEMA_VERSION.split('.')[0]}.x)"
            )
        return value
