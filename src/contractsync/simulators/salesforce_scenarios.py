"""Operator scenarios and synthetic failures of the Salesforce simulator, in Salesforce's shapes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from fastapi import HTTPException
from pydantic import BaseModel, Field

from contractsync.simulators.app import Scenario
from contractsync.simulators.salesforce_org import SalesforceOrg
from contractsync.simulators.salesforce_schema import SalesforceFault


class CloseWonBody(BaseModel):
    """Close a new opportunity as won for an account (by record id or external id)."""

    account_id: str | None = None
    account_external_id: str | None = Field(default=None, description="Canonical_Id__c value.")
    name: str = "Won deal"
    amount: float | None = 120000.0
    currency: str = "USD"
    close_date: dt.date | None = None
    opportunity_key: str | None = None
    contract_id: str | None = None


class CreateRecordBody(BaseModel):
    """Create a record by hand (validation applies; duplicate external ids are allowed)."""

    sobject: str
    fields: dict[str, Any]


class EditRecordBody(BaseModel):
    """Edit a record by hand, as a user in the Salesforce UI would."""

    sobject: str
    id: str
    fields: dict[str, Any]


class AllowanceBody(BaseModel):
    """The daily API allocation and, optionally, how much of it is used."""

    limit: int = Field(ge=0)
    used: int | None = Field(default=None, ge=0)


class BatchSizeBody(BaseModel):
    """The smallest query batch the org honours (Salesforce: 200)."""

    size: int = Field(ge=1, le=2000)


class EmptyBody(BaseModel):
    """No parameters."""


class SalesforceFaults:
    """Salesforce-shaped 500, 403 ``REQUEST_LIMIT_EXCEEDED`` and validation error."""

    def __init__(self, org: SalesforceOrg) -> None:
        self.org = org

    def _headers(self) -> dict[str, str]:
        return {"Sforce-Limit-Info": self.org.limit_info()}

    def server_error(self) -> tuple[int, dict[str, str], Any]:
        """500 ``UNKNOWN_EXCEPTION``, as Salesforce answers an internal failure."""
        message = "An unexpected error occurred. Please include this ErrorId if you contact support: 1838291-0 (-1)"
        return 500, self._headers(), [{"errorCode": "UNKNOWN_EXCEPTION", "message": message}]

    def rate_limited(self, retry_after: float | None) -> tuple[int, dict[str, str], Any]:
        """403 ``REQUEST_LIMIT_EXCEEDED`` (the concurrent-requests limit); no 429 in core REST."""
        headers = self._headers()
        if retry_after is not None:  # Salesforce itself sends none; a plan may add one.
            headers["Retry-After"] = str(int(retry_after))
        body = [
            {
                "message": "ConcurrentRequests (Concurrent API Requests) Limit exceeded.",
                "errorCode": "REQUEST_LIMIT_EXCEEDED",
            }
        ]
        return 403, headers, body

    def validation_error(self) -> tuple[int, dict[str, str], Any]:
        """400 ``FIELD_CUSTOM_VALIDATION_EXCEPTION``, as a failing validation rule answers."""
        body = [
            {
                "message": "Simulated validation rule: this record cannot be saved.",
                "errorCode": "FIELD_CUSTOM_VALIDATION_EXCEPTION",
                "fields": [],
            }
        ]
        return 400, self._headers(), body


def _guard(write: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run a by-hand write; a refusal becomes the operator API's error with Salesforce's array."""
    try:
        return write()
    except SalesforceFault as fault:
        raise HTTPException(fault.status, fault.body) from None


def _close_won(org: SalesforceOrg, body: CloseWonBody) -> dict[str, Any]:
    account_id = body.account_id
    if account_id is None and body.account_external_id is not None:
        matches = org.find_by("Account", "Canonical_Id__c", body.account_external_id)
        account_id = matches[0]["Id"] if len(matches) == 1 else None
    if account_id is None:
        raise HTTPException(404, "no single account matches account_id / account_external_id")
    fields: dict[str, Any] = {
        "Name": body.name,
        "AccountId": account_id,
        "StageName": "Closed Won",
        "CloseDate": (body.close_date or dt.date.today()).isoformat(),
        "Amount": body.amount,
        "CurrencyIsoCode": body.currency,
    }
    if body.opportunity_key:
        fields["Opportunity_Key__c"] = body.opportunity_key
    if body.contract_id:
        fields["Contract_Id__c"] = body.contract_id
    record = _guard(lambda: org.create("Opportunity", fields))
    return {"id": record["Id"], "account_id": account_id}


def _allowance(org: SalesforceOrg, body: AllowanceBody) -> dict[str, Any]:
    with org.lock:
        org.api_limit = body.limit
        if body.used is not None:
            org.api_used = body.used
        return {"limit": org.api_limit, "used": org.api_used}


def _batch_size(org: SalesforceOrg, body: BatchSizeBody) -> dict[str, Any]:
    org.min_batch_size = body.size
    return {"min_batch_size": body.size}


def salesforce_scenarios(org: SalesforceOrg) -> tuple[Scenario, ...]:
    """The operator drivers of one org.

    Args:
        org: The org they act on.

    Returns:
        ``close_won_opportunity``, ``create_record``, ``edit_record``, ``set_api_allowance``,
        ``expire_tokens`` and ``set_min_batch_size``.
    """
    return (
        Scenario(
            "close_won_opportunity",
            "Create an opportunity closed-won for an account (emits opportunity.won).",
            CloseWonBody,
            lambda b: _close_won(org, b),
        ),
        Scenario(
            "create_record",
            "Create a record by hand (duplicate external ids allowed).",
            CreateRecordBody,
            lambda b: _guard(lambda: org.create(b.sobject, b.fields)),
        ),
        Scenario(
            "edit_record",
            "Edit a record by hand.",
            EditRecordBody,
            lambda b: _guard(lambda: org.update(b.sobject, b.id, b.fields)),
        ),
        Scenario(
            "set_api_allowance",
            "Set the daily API allocation (and usage).",
            AllowanceBody,
            lambda b: _allowance(org, b),
        ),
        Scenario(
            "expire_tokens",
            "Expire every access token.",
            EmptyBody,
            lambda _: {"expired": org.expire_tokens()},
        ),
        Scenario(
            "set_min_batch_size",
            "Set the smallest query batch honoured.",
            BatchSizeBody,
            lambda b: _batch_size(org, b),
        ),
    )


__all__ = [
    "AllowanceBody",
    "BatchSizeBody",
    "CloseWonBody",
    "CreateRecordBody",
    "EditRecordBody",
    "EmptyBody",
    "SalesforceFaults",
    "salesforce_scenarios",
]
