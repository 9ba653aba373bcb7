"""The Salesforce simulator's sObject metadata (Account, Opportunity) and field validation.

Validation answers with Salesforce's own error codes (``REQUIRED_FIELD_MISSING``,
``INVALID_FIELD``, ``STRING_TOO_LONG``, ``INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST``,
``FIELD_INTEGRITY_EXCEPTION``, ``JSON_PARSER_ERROR`` ...) in the error-array shape
``[{"message", "errorCode", "fields"}]``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

FieldType = Literal[
    "id",
    "string",
    "textarea",
    "boolean",
    "currency",
    "percent",
    "date",
    "datetime",
    "reference",
    "picklist",
]


class SalesforceFault(Exception):  # noqa: N818 - carries an HTTP answer, named like the vendor's
    """A request the simulated org refuses: HTTP status plus the vendor's error array."""

    def __init__(
        self, status: int, error_code: str, message: str, fields: list[str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body: list[dict[str, Any]] = [
            {"message": message, "errorCode": error_code, "fields": fields or []}
        ]


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One field of an sObject as the describe call would report it."""

    name: str
    type: FieldType
    required: bool = False
    max_length: int | None = None
    is_external_id: bool = False
    is_read_only: bool = False
    reference_to: str | None = None
    picklist: tuple[str, ...] = ()
    default: Any = None


@dataclass(frozen=True, slots=True)
class SObjectSpec:
    """An sObject type: its 3-character id prefix and its fields."""

    name: str
    key_prefix: str
    fields: dict[str, FieldSpec] = field(default_factory=dict)

    @property
    def external_id_fields(self) -> tuple[str, ...]:
        """Fields usable in ``/sobjects/{type}/{field}/{value}`` upserts."""
        return tuple(f.name for f in self.fields.values() if f.is_external_id)


def _spec(name: str, prefix: str, *fields: FieldSpec) -> SObjectSpec:
    system = (
        FieldSpec("Id", "id", is_read_only=True),
        FieldSpec("IsDeleted", "boolean", is_read_only=True, default=False),
        FieldSpec("CreatedDate", "datetime", is_read_only=True),
        FieldSpec("LastModifiedDate", "datetime", is_read_only=True),
        FieldSpec("SystemModstamp", "datetime", is_read_only=True),
    )
    return SObjectSpec(name, prefix, {f.name: f for f in (*system, *fields)})


STAGES = (
    "Prospecting",
    "Qualification",
    "Needs Analysis",
    "Value Proposition",
    "Proposal/Price Quote",
    "Negotiation/Review",
    "Closed Won",
    "Closed Lost",
)
ACCOUNT = _spec(
    "Account",
    "001",
    FieldSpec("Name", "string", required=True, max_length=255),
    FieldSpec("AccountNumber", "string", max_length=40),
    FieldSpec(
        "Type",
        "picklist",
        picklist=("Prospect", "Customer - Direct", "Customer - Channel", "Partner", "Other"),
    ),
    FieldSpec("Industry", "string", max_length=255),
    FieldSpec("Website", "string", max_length=255),
    FieldSpec("Phone", "string", max_length=40),
    FieldSpec("BillingStreet", "textarea", max_length=255),
    FieldSpec("BillingCity", "string", max_length=40),
    FieldSpec("BillingPostalCode", "string", max_length=20),
    FieldSpec("BillingStateCode", "string", max_length=10),
    FieldSpec("BillingCountryCode", "string", max_length=2),
    FieldSpec("Canonical_Id__c", "string", max_length=64, is_external_id=True),
    FieldSpec("Tax_Identifiers__c", "textarea", max_length=1000),
    FieldSpec("Is_Business__c", "boolean", default=True),
)
OPPORTUNITY = _spec(
    "Opportunity",
    "006",
    FieldSpec("Name", "string", required=True, max_length=120),
    FieldSpec("AccountId", "reference", reference_to="Account"),
    FieldSpec("StageName", "picklist", required=True, picklist=STAGES),
    FieldSpec("CloseDate", "date", required=True),
    FieldSpec("Amount", "currency"),
    FieldSpec("CurrencyIsoCode", "string", max_length=3, default="USD"),
    FieldSpec("Probability", "percent"),
    FieldSpec("Description", "textarea", max_length=32000),
    FieldSpec("IsClosed", "boolean", is_read_only=True, default=False),
    FieldSpec("IsWon", "boolean", is_read_only=True, default=False),
    FieldSpec("Opportunity_Key__c", "string", max_length=64, is_external_id=True),
    FieldSpec("Contract_Id__c", "string", max_length=64),
)
SOBJECTS: dict[str, SObjectSpec] = {spec.name: spec for spec in (ACCOUNT, OPPORTUNITY)}

_ID = re.compile(r"^[a-zA-Z0-9]{15}([a-zA-Z0-9]{3})?$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")


def id18(id15: str) -> str:
    """Append Salesforce's case-safe 3-character checksum to a 15-character id."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
    suffix = ""
    for chunk in range(3):
        bits = sum(1 << i for i, ch in enumerate(id15[chunk * 5 : chunk * 5 + 5]) if ch.isupper())
        suffix += alphabet[bits]
    return id15 + suffix


def normalize_id(value: str) -> str | None:
    """A 15- or 18-character id as 18 characters, or None when it is not an id."""
    if not _ID.match(value):
        return None
    return id18(value) if len(value) == 15 else id18(value[:15])


def spec_of(sobject: str) -> SObjectSpec:
    """The spec of ``sobject`` (case-insensitive, as Salesforce resolves names).

    Raises:
        SalesforceFault: 404 ``NOT_FOUND`` for an unknown type.
    """
    for name, spec in SOBJECTS.items():
        if name.lower() == sobject.lower():
            return spec
    raise SalesforceFault(404, "NOT_FOUND", "The requested resource does not exist")


def _check_value(spec: FieldSpec, value: Any) -> Any:
    bad = f"Cannot deserialize instance of {spec.type} from value {value!r}"
    if value is None:
        return None
    if spec.type in ("string", "textarea", "picklist", "reference", "id"):
        if not isinstance(value, str):
            raise SalesforceFault(400, "JSON_PARSER_ERROR", bad, [spec.name])
        if spec.max_length is not None and len(value) > spec.max_length:
            raise SalesforceFault(
                400,
                "STRING_TOO_LONG",
                f"{spec.name}: data value too large: {value[:40]} (max length={spec.max_length})",
                [spec.name],
            )
        if spec.type == "picklist" and spec.picklist and value not in spec.picklist:
            raise SalesforceFault(
                400,
                "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                f"{spec.name}: bad value for restricted picklist field: {value}",
                [spec.name],
            )
        return value
    if spec.type == "boolean":
        if not isinstance(value, bool):
            raise SalesforceFault(400, "JSON_PARSER_ERROR", bad, [spec.name])
        return value
    if spec.type in ("currency", "percent"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise SalesforceFault(400, "JSON_PARSER_ERROR", bad, [spec.name])
        return value
    if spec.type == "date":
        try:
            dt.date.fromisoformat(value)
        except (TypeError, ValueError):
            raise SalesforceFault(400, "JSON_PARSER_ERROR", bad, [spec.name]) from None
        return value
    return value


def validate_fields(
    spec: SObjectSpec, body: Mapping[str, Any], *, is_create: bool
) -> dict[str, Any]:
    """Check a create or update body against the sObject's metadata.

    Args:
        spec: The sObject type.
        body: The JSON fields sent (``attributes`` is ignored, as Salesforce does).
        is_create: Required fields must then be present.

    Returns:
        The fields to store.

    Raises:
        SalesforceFault: 400 with the first problem found, in Salesforce's words.
    """
    values: dict[str, Any] = {}
    for name, value in body.items():
        if name == "attributes":
            continue
        field_spec = spec.fields.get(name)
        if field_spec is None:
            raise SalesforceFault(
                400, "INVALID_FIELD", f"No such column '{name}' on sobject of type {spec.name}"
            )
        if field_spec.is_read_only:
            raise SalesforceFault(
                400,
                "INVALID_FIELD_FOR_INSERT_UPDATE",
                f"Unable to create/update fields: {name}. Please check the security settings of "
                "this field and verify that it is read/write for your profile or permission set.",
                [name],
            )
        values[name] = _check_value(field_spec, value)
    required = [f.name for f in spec.fields.values() if f.required]
    missing = [
        name
        for name in required
        if (is_create and values.get(name) in (None, ""))
        or (name in values and values[name] in (None, ""))
    ]
    if missing:
        raise SalesforceFault(
            400,
            "REQUIRED_FIELD_MISSING",
            f"Required fields are missing: [{', '.join(missing)}]",
            missing,
        )
    country = values.get("BillingCountryCode")
    if country is not None and not _COUNTRY.match(country):
        raise SalesforceFault(
            400,
            "FIELD_INTEGRITY_EXCEPTION",
            "There's a problem with this country, even though it may appear correct. Please "
            "select a country/territory from the list of valid countries.",
            ["BillingCountryCode"],
        )
    return values


__all__ = [
    "ACCOUNT",
    "OPPORTUNITY",
    "SOBJECTS",
    "STAGES",
    "FieldSpec",
    "SObjectSpec",
    "SalesforceFault",
    "id18",
    "normalize_id",
    "spec_of",
    "validate_fields",
]
