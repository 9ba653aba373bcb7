"""Operator scenarios and synthetic failures of the NetSuite simulator, in NetSuite's shapes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from fastapi import HTTPException
from pydantic import BaseModel, Field

from contractsync.simulators.app import Scenario
from contractsync.simulators.netsuite_access import ConcurrencyGate, TokenIssuer
from contractsync.simulators.netsuite_records import NetSuiteAccount
from contractsync.simulators.netsuite_wire import NetSuiteFault, problem


class EditRecordBody(BaseModel):
    """Edit a record by hand in the NetSuite UI (by internal id or external id)."""

    record_type: str
    id: str | None = None
    external_id: str | None = None
    fields: dict[str, Any]
    replace: list[str] = Field(default_factory=list, description="Sublists to replace.")


class CreateRecordBody(BaseModel):
    """Create a record by hand (with or without an external id)."""

    record_type: str
    fields: dict[str, Any]


class ClosePeriodBody(BaseModel):
    """Close every accounting period ending on or before ``through``; null reopens all."""

    through: dt.date | None


class ConcurrencyBody(BaseModel):
    """The account-wide concurrency limit (developer accounts: 5)."""

    limit: int = Field(ge=0, le=1000)


class EmptyBody(BaseModel):
    """No parameters."""


def concurrency_refusal(code: str, retry_after: float | None) -> tuple[int, dict[str, str], Any]:
    """429 with an ``o:errorDetails`` body; the code and ``Retry-After`` are [U] (configurable)."""
    headers = {"Retry-After": str(int(retry_after))} if retry_after is not None else {}
    body = problem(
        429,
        code,
        "Too Many Requests: the account has exceeded its concurrent request limit.",
    )
    return 429, headers, body


class NetSuiteFaults:
    """NetSuite-shaped 500, concurrency 429 and validation 400 for the fault plan.

    Args:
        concurrency_code: ``o:errorCode`` of the throttle.
        retry_after: ``Retry-After`` seconds NetSuite would send, if any.
    """

    def __init__(self, concurrency_code: str, retry_after: float | None) -> None:
        self.concurrency_code = concurrency_code
        self.retry_after = retry_after

    def server_error(self) -> tuple[int, dict[str, str], Any]:
        """500 ``UNEXPECTED_ERROR``."""
        detail = "An unexpected error occurred. Error ID: simulated"
        return 500, {}, problem(500, "UNEXPECTED_ERROR", detail)

    def rate_limited(self, retry_after: float | None) -> tuple[int, dict[str, str], Any]:
        """The concurrency 429; a plan's ``retry_after_seconds`` overrides the configured one."""
        return concurrency_refusal(
            self.concurrency_code, retry_after if retry_after is not None else self.retry_after
        )

    def validation_error(self) -> tuple[int, dict[str, str], Any]:
        """400 ``INVALID_CONTENT`` on a body field."""
        detail = (
            "Error while accessing a resource. Simulated validation: the record cannot be saved."
        )
        return 400, {}, problem(400, "INVALID_CONTENT", detail, path="companyName")


def _guard(write: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    try:
        return write()
    except NetSuiteFault as fault:
        raise HTTPException(fault.status, fault.body) from None


def _edit(account: NetSuiteAccount, body: EditRecordBody) -> dict[str, Any]:
    key = body.id if body.id is not None else f"eid:{body.external_id}"
    record_id = account.update(body.record_type, key, body.fields, replace=set(body.replace))
    return {"id": record_id}


def _close(account: NetSuiteAccount, body: ClosePeriodBody) -> dict[str, Any]:
    with account.lock:
        account.closed_through = body.through
    return {"closed_through": body.through.isoformat() if body.through else None}


def _limit(gate: ConcurrencyGate, body: ConcurrencyBody) -> dict[str, Any]:
    gate.limit = body.limit
    return gate.report()


def netsuite_scenarios(
    account: NetSuiteAccount, gate: ConcurrencyGate, tokens: TokenIssuer
) -> tuple[Scenario, ...]:
    """The operator drivers of one account.

    Returns:
        ``edit_record``, ``create_record``, ``close_period``, ``set_concurrency_limit`` and
        ``expire_tokens``.
    """
    return (
        Scenario(
            "edit_record",
            "Edit a record by hand, as a user in the NetSuite UI would.",
            EditRecordBody,
            lambda b: _guard(lambda: _edit(account, b)),
        ),
        Scenario(
            "create_record",
            "Create a record by hand.",
            CreateRecordBody,
            lambda b: _guard(lambda: {"id": account.create(b.record_type, b.fields)}),
        ),
        Scenario(
            "close_period",
            "Close the accounting periods ending on or before a date (null reopens all).",
            ClosePeriodBody,
            lambda b: _close(account, b),
        ),
        Scenario(
            "set_concurrency_limit",
            "Set the account-wide concurrency limit.",
            ConcurrencyBody,
            lambda b: _limit(gate, b),
        ),
        Scenario(
            "expire_tokens",
            "Expire every access token.",
            EmptyBody,
            lambda _: {"expired": tokens.expire_all()},
        ),
    )


__all__ = [
    "ClosePeriodBody",
    "ConcurrencyBody",
    "CreateRecordBody",
    "EditRecordBody",
    "EmptyBody",
    "NetSuiteFaults",
    "concurrency_refusal",
    "netsuite_scenarios",
]
