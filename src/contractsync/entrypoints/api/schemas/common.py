"""Shared HTTP DTO parts: money, external refs, pages and the masked-response base."""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")


class Dto(BaseModel):
    """Base of every HTTP DTO: built from canonical JSON, unknown fields ignored."""

    model_config = ConfigDict(extra="ignore")


class MaskedResponse(Dto):
    """A top-level response body: says which priced fields were nulled for this caller."""

    masked_fields: list[str] = Field(
        default_factory=list,
        description="Paths of priced fields set to null because the key lacks pricing:read "
        "(`[]` stands for every list item, `.*` for money inside free-form data).",
    )


class MoneyView(Dto):
    """An exact amount of one currency; the amount is a decimal string, never a float."""

    amount: str = Field(pattern=r"^-?\d+(\.\d+)?$", examples=["1250.00"])
    currency: str = Field(pattern=r"^[A-Z]{3}$", examples=["EUR"])


class RefView(Dto):
    """How a record is known in one external system."""

    system: str
    kind: str
    id: str


class Page(MaskedResponse, Generic[T]):
    """One page of a list, in the list's stable order."""

    items: list[T]
    next_cursor: str | None = Field(
        default=None, description="Pass as ?cursor= for the next page; null on the last page."
    )


__all__ = ["Dto", "MaskedResponse", "MoneyView", "Page", "RefView"]
