"""Pydantic DTOs of NetSuite's wire records; they never leave ``adapters/netsuite``.

Reading is lenient where NetSuite adds things (unknown fields are ignored) and strict where the
hub needs a value (a missing field fails naming it). Custom field names come from the settings
(``NetSuiteFieldNames``); references arrive as ``{"id", "refName", "links"}``; sublists
(read with ``expandSubResources=true``) as ``{"links", "items": [...]}``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from contractsync.adapters.netsuite.config import NetSuiteFieldNames
from contractsync.errors import DataError


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


M = TypeVar("M", bound=_Wire)


def _decimal(value: Any) -> Any:
    # JSON numbers arrive as floats; their shortest repr is the decimal NetSuite stored.
    return Decimal(repr(value)) if isinstance(value, float) else value


class TokenResponse(_Wire):
    """The token endpoint's answer (client credentials: no refresh token)."""

    access_token: SecretStr
    expires_in: int | None = None
    token_type: str = "bearer"


class ErrorDetail(_Wire):
    """One entry of ``o:errorDetails``."""

    detail: str = ""
    code: str = Field(default="", alias="o:errorCode")
    path: str | None = Field(default=None, alias="o:errorPath")


class Problem(_Wire):
    """NetSuite's RFC 7807-like error body."""

    title: str = ""
    status: int | None = None
    details: list[ErrorDetail] = Field(default_factory=list, alias="o:errorDetails")

    @property
    def code(self) -> str | None:
        """The first ``o:errorCode``."""
        return self.details[0].code if self.details else None

    @classmethod
    def read(cls, response: httpx.Response) -> Problem | None:
        """The problem in an error response, or None when it carries none."""
        if response.status_code < 400 or not response.content:
            return None
        try:
            return cls.model_validate(response.json())
        except (ValueError, ValidationError):
            return None


class CollectionItem(_Wire):
    """One entry of a collection page."""

    id: str


class CollectionPage(_Wire):
    """One page of ``GET /record/v1/{type}``."""

    count: int
    has_more: bool = Field(alias="hasMore")
    items: list[CollectionItem] = Field(default_factory=list)
    offset: int = 0
    total_results: int | None = Field(default=None, alias="totalResults")


class Ref(_Wire):
    """A reference to another record."""

    id: str
    ref_name: str | None = Field(default=None, alias="refName")


class CustomerRecord(_Wire):
    """A customer, with the address and custom fields under stable names."""

    id: str | None = None
    external_id: str | None = None
    company_name: str = Field(min_length=1)
    is_person: bool = False
    subsidiary: Ref | None = None
    tax_ids: str | None = None
    country: str | None = None
    state: str | None = None

    @classmethod
    def from_wire(cls, raw: Mapping[str, Any], names: NetSuiteFieldNames) -> CustomerRecord:
        """Read a customer as NetSuite sends it (its default billing address gives the country).

        Raises:
            DataError: ``netsuite.payload_invalid`` naming the missing or malformed field.
        """
        lines = raw.get("addressBook", {}).get("items", [])
        billing = next((a for a in lines if a.get("defaultBilling")), lines[0] if lines else {})
        address = billing.get("addressBookAddress", {})
        values = {
            "id": raw.get("id"),
            "external_id": raw.get("externalId"),
            "company_name": raw.get("companyName"),
            "is_person": raw.get("isPerson", False),
            "subsidiary": raw.get("subsidiary"),
            "tax_ids": raw.get(names.customer_tax_ids),
            "country": (address.get("country") or {}).get("id"),
            "state": address.get("state"),
        }
        return read(cls, "customer", values, raw.get("id"))


class JobRecord(_Wire):
    """A project (job) and its status (``entityStatus``, a project status reference)."""

    id: str
    entity_status: Ref | None = Field(default=None, alias="entityStatus")

    @classmethod
    def from_wire(cls, raw: Mapping[str, Any]) -> JobRecord:
        """Read a job.

        Raises:
            DataError: ``netsuite.payload_invalid`` naming the missing or malformed field.
        """
        return read(cls, "job", raw, raw.get("id"))


class OrderLine(_Wire):
    """A sales order or invoice line."""

    line: int | None = None
    item: Ref | None = None
    description: str | None = None
    amount: Decimal = Decimal(0)
    key: str | None = None

    _amount = field_validator("amount", mode="before")(_decimal)


class SalesOrderRecord(_Wire):
    """A sales order holding a contract: its lines, schedule and the contract as pushed."""

    id: str
    external_id: str | None = None
    memo: str | None = None
    start_date: dt.date | None = None
    end_date: dt.date | None = None
    billing_schedule: Ref | None = None
    basis: str | None = None
    lines: list[OrderLine] = Field(default_factory=list)

    @classmethod
    def from_wire(cls, raw: Mapping[str, Any], names: NetSuiteFieldNames) -> SalesOrderRecord:
        """Read a sales order.

        Raises:
            DataError: ``netsuite.payload_invalid`` naming the missing or malformed field.
        """
        lines = [
            {**item, "key": item.get(names.line_key)}
            for item in raw.get("item", {}).get("items", [])
        ]
        values = {
            "id": raw.get("id"),
            "external_id": raw.get("externalId"),
            "memo": raw.get("memo"),
            "start_date": raw.get("startDate"),
            "end_date": raw.get("endDate"),
            "billing_schedule": raw.get("billingSchedule"),
            "basis": raw.get(names.order_basis),
            "lines": lines,
        }
        return read(cls, "salesOrder", values, raw.get("id"))


class ScheduleMilestone(_Wire):
    """One milestone of a billing schedule."""

    milestone_date: dt.date = Field(alias="milestoneDate")
    milestone_amount: Decimal = Field(alias="milestoneAmount")
    comments: str | None = None
    key: str | None = None

    _amount = field_validator("milestone_amount", mode="before")(_decimal)


class BillingScheduleRecord(_Wire):
    """A billing schedule with its milestones."""

    id: str
    name: str
    milestones: list[ScheduleMilestone] = Field(default_factory=list)

    @classmethod
    def from_wire(cls, raw: Mapping[str, Any], names: NetSuiteFieldNames) -> BillingScheduleRecord:
        """Read a billing schedule.

        Raises:
            DataError: ``netsuite.payload_invalid`` naming the missing or malformed field.
        """
        items = [
            {**item, "key": item.get(names.schedule_key)}
            for item in raw.get("milestone", {}).get("items", [])
        ]
        values = {"id": raw.get("id"), "name": raw.get("name"), "milestones": items}
        return read(cls, "billingSchedule", values, raw.get("id"))


class InvoiceRecord(_Wire):
    """An invoice and the hub key it was created for."""

    id: str
    external_id: str | None = None
    key: str | None = None
    total: Decimal = Decimal(0)

    _total = field_validator("total", mode="before")(_decimal)

    @classmethod
    def from_wire(cls, raw: Mapping[str, Any], names: NetSuiteFieldNames) -> InvoiceRecord:
        """Read an invoice."""
        values = {
            "id": raw.get("id"),
            "external_id": raw.get("externalId"),
            "key": raw.get(names.invoice_key),
            "total": raw.get("total", 0),
        }
        return read(cls, "invoice", values, raw.get("id"))


class AccountingPeriod(_Wire):
    """An accounting period and whether it is closed."""

    id: str
    end_date: dt.date = Field(alias="endDate")
    closed: bool = False
    is_adjust: bool = Field(default=False, alias="isAdjust")


def read(cls: type[M], record_type: str, values: Mapping[str, Any], record_id: Any) -> M:
    """Validate ``values`` as ``cls``; a failure is a ``DataError`` naming the fields."""
    try:
        return cls.model_validate(values)
    except ValidationError as exc:
        bad = sorted({str(e["loc"][0]) for e in exc.errors() if e["loc"]})
        raise DataError(
            f"NetSuite sent a {record_type} whose field(s) {', '.join(bad)} are missing or invalid.",
            code="netsuite.payload_invalid",
            remediation=f"Check the {record_type} {record_id} in NetSuite (or a renamed custom "
            "field in the settings), then retry.",
            detail={"record_type": record_type, "fields": bad, "id": record_id},
        ) from None


__all__ = [
    "AccountingPeriod",
    "BillingScheduleRecord",
    "CollectionItem",
    "CollectionPage",
    "CustomerRecord",
    "ErrorDetail",
    "InvoiceRecord",
    "JobRecord",
    "OrderLine",
    "Problem",
    "Ref",
    "SalesOrderRecord",
    "ScheduleMilestone",
    "TokenResponse",
    "read",
]
