"""Pydantic DTOs of Salesforce's wire records; they never leave ``adapters/salesforce``.

Reading is lenient where Salesforce adds things (unknown fields are ignored, so an org with
extra fields or a newer API version still reads) and strict where the hub needs a value (a
renamed or missing field fails with the field named). Custom field names come from the
settings through ``FieldNames``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from contractsync.errors import DataError


@dataclass(frozen=True, slots=True)
class FieldNames:
    """The org's custom field API names (from ``SalesforceSettings``)."""

    external_id: str = "Canonical_Id__c"
    tax_ids: str = "Tax_Identifiers__c"
    is_business: str = "Is_Business__c"
    contract_id: str = "Contract_Id__c"


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


M = TypeVar("M", bound=_Wire)


class ApiError(_Wire):
    """One entry of Salesforce's error array."""

    message: str = ""
    error_code: str = Field(default="", alias="errorCode")
    fields: list[str] = Field(default_factory=list)


class TokenResponse(_Wire):
    """The OAuth2 token endpoint's answer (client credentials: no refresh token)."""

    access_token: SecretStr
    instance_url: str
    token_type: str = "Bearer"
    issued_at: str | None = None
    id: str | None = None


class SaveResult(_Wire):
    """The answer to a create or upsert (``created`` only from API 46.0)."""

    id: str
    success: bool = True
    created: bool | None = None


class QueryPage(_Wire):
    """One batch of a SOQL query."""

    total_size: int = Field(alias="totalSize")
    done: bool
    records: list[dict[str, Any]]
    next_records_url: str | None = Field(default=None, alias="nextRecordsUrl")


class AccountRecord(_Wire):
    """An Account, with the custom fields under stable Python names."""

    id: str | None = None
    name: str = Field(min_length=1)
    billing_country_code: str | None = None
    billing_state_code: str | None = None
    external_id: str | None = None
    tax_identifiers: str | None = None
    is_business: bool | None = None

    @classmethod
    def from_sobject(cls, raw: Mapping[str, Any], names: FieldNames) -> AccountRecord:
        """Read an Account as Salesforce sends it.

        Raises:
            DataError: ``salesforce.payload_invalid`` naming the missing or malformed field.
        """
        return _read(
            cls,
            "Account",
            raw,
            {
                "id": "Id",
                "name": "Name",
                "billing_country_code": "BillingCountryCode",
                "billing_state_code": "BillingStateCode",
                "external_id": names.external_id,
                "tax_identifiers": names.tax_ids,
                "is_business": names.is_business,
            },
        )

    def to_sobject(self, names: FieldNames) -> dict[str, Any]:
        """The fields to write; ``Id`` and the external id are left out (they go in the URL)."""
        return {
            "Name": self.name,
            "BillingCountryCode": self.billing_country_code,
            "BillingStateCode": self.billing_state_code,
            names.tax_ids: self.tax_identifiers,
            names.is_business: self.is_business,
        }


class OpportunityRecord(_Wire):
    """An Opportunity, with the custom fields under stable Python names."""

    id: str
    name: str
    stage_name: str
    is_won: bool = False
    close_date: dt.date | None = None
    amount: Decimal | None = None
    currency_iso_code: str | None = None
    account_id: str | None = None
    contract_id: str | None = None

    @classmethod
    def from_sobject(cls, raw: Mapping[str, Any], names: FieldNames) -> OpportunityRecord:
        """Read an Opportunity as Salesforce sends it.

        Raises:
            DataError: ``salesforce.payload_invalid`` naming the missing or malformed field.
        """
        return _read(
            cls,
            "Opportunity",
            raw,
            {
                "id": "Id",
                "name": "Name",
                "stage_name": "StageName",
                "is_won": "IsWon",
                "close_date": "CloseDate",
                "amount": "Amount",
                "currency_iso_code": "CurrencyIsoCode",
                "account_id": "AccountId",
                "contract_id": names.contract_id,
            },
        )


def _read(cls: type[M], sobject: str, raw: Mapping[str, Any], wire: dict[str, str]) -> M:
    values = {attr: raw[name] for attr, name in wire.items() if name in raw}
    if "amount" in values and isinstance(values["amount"], float):
        # JSON numbers arrive as floats; the decimal text is exact, the float is not.
        values["amount"] = Decimal(repr(values["amount"]))
    try:
        return cls.model_validate(values)
    except ValidationError as exc:
        bad = [wire.get(str(e["loc"][0]), str(e["loc"][0])) for e in exc.errors() if e["loc"]]
        raise DataError(
            f"Salesforce sent a {sobject} whose field(s) {', '.join(bad)} are missing or invalid.",
            code="salesforce.payload_invalid",
            remediation=f"Check the {sobject} fields in Salesforce (or a renamed field in the "
            "org's schema), then retry.",
            detail={"sobject": sobject, "fields": bad, "id": raw.get("Id")},
        ) from None


def api_errors(body: Any) -> list[ApiError]:
    """Salesforce's error array from a decoded body; empty when the body is something else."""
    if not isinstance(body, list):
        return []
    return [ApiError.model_validate(item) for item in body if isinstance(item, dict)]


__all__ = [
    "AccountRecord",
    "ApiError",
    "FieldNames",
    "OpportunityRecord",
    "QueryPage",
    "SaveResult",
    "TokenResponse",
    "api_errors",
]
