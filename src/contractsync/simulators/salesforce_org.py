"""The simulated Salesforce org: records, external-id lookups, tokens, API allowance, query cursors."""

from __future__ import annotations

import copy
import datetime as dt
import itertools
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from contractsync.simulators.salesforce_schema import (
    SOBJECTS,
    SalesforceFault,
    SObjectSpec,
    id18,
    normalize_id,
    spec_of,
    validate_fields,
)

ChangeListener = Callable[[str, dict[str, Any] | None, dict[str, Any]], None]
"""Called after a committed write with (sObject type, record before or None, record after)."""


@dataclass(frozen=True, slots=True)
class UpsertOutcome:
    """What an upsert by external id did: the record, whether it was created, or every match."""

    record: dict[str, Any] | None
    is_created: bool
    matches: tuple[dict[str, Any], ...] = ()


def _timestamp(now: float) -> str:
    return dt.datetime.fromtimestamp(now, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")


class SalesforceOrg:
    """One org's data and limits. Thread-safe: every public method holds the org lock.

    Args:
        api_limit: Daily API requests allowed (``DailyApiRequests.Max``).
        token_lifetime: Seconds an access token stays valid.
        clients: Connected apps allowed the client-credentials flow, id -> secret.
        min_batch_size: Smallest query batch honoured (Salesforce: 200; lower it to page cheaply).
        clock: Unix seconds.
    """

    org_id = "00DSIM000000001EAA"
    user_id = "005SIM000000001AAA"

    def __init__(
        self,
        *,
        api_limit: int = 15_000,
        token_lifetime: float = 7200.0,
        clients: Mapping[str, str] | None = None,
        min_batch_size: int = 200,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.lock = threading.RLock()
        self._initial = (api_limit, token_lifetime, dict(clients or {"sim-client": "sim-secret"}))
        self.min_batch_size = min_batch_size
        self.clock = clock
        self.listener: ChangeListener | None = None
        self.reset()

    def reset(self) -> None:
        """A fresh org: no records, no tokens, the initial allowance, nothing used."""
        with self.lock:
            self.api_limit, self.token_lifetime, clients = self._initial
            self.clients = dict(clients)
            self.api_used = 0
            self.tokens: dict[str, float] = {}
            self.records: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in SOBJECTS}
            self.cursors: dict[str, tuple[list[dict[str, Any]], int, int]] = {}
            self._serial = itertools.count(1)

    # -- auth and limits -------------------------------------------------------------------

    def issue_token(self, client_id: str, client_secret: str) -> str | None:
        """A new access token for a known client with the right secret, else None."""
        with self.lock:
            expected = self.clients.get(client_id)
            if expected is None or not secrets.compare_digest(expected, client_secret):
                return None
            token = f"{self.org_id[:15]}!{secrets.token_urlsafe(48)}"
            self.tokens[token] = self.clock() + self.token_lifetime
            return token

    def is_valid_token(self, token: str) -> bool:
        """True for an issued token that has not expired."""
        with self.lock:
            expires = self.tokens.get(token)
            return expires is not None and expires > self.clock()

    def expire_tokens(self) -> int:
        """Expire every token (the next call gets 401 ``INVALID_SESSION_ID``); return how many."""
        with self.lock:
            count = len(self.tokens)
            self.tokens.clear()
            return count

    def count_call(self) -> None:
        """Count one API request against the daily allocation.

        Raises:
            SalesforceFault: 403 ``REQUEST_LIMIT_EXCEEDED`` once the allocation is used up.
        """
        with self.lock:
            if self.api_used >= self.api_limit:
                raise SalesforceFault(
                    403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."
                )
            self.api_used += 1

    def limit_info(self) -> str:
        """The ``Sforce-Limit-Info`` header value."""
        return f"api-usage={self.api_used}/{self.api_limit}"

    # -- records -----------------------------------------------------------------------------

    def _new_id(self, spec: SObjectSpec) -> str:
        return id18(f"{spec.key_prefix}Sm{next(self._serial):010d}")

    def _check_references(self, spec: SObjectSpec, values: Mapping[str, Any]) -> None:
        for name, value in values.items():
            target = spec.fields[name].reference_to
            if target is None or value is None:
                continue
            record_id = normalize_id(value)
            if record_id is None or not record_id.startswith(SOBJECTS[target].key_prefix):
                raise SalesforceFault(
                    400, "MALFORMED_ID", f"{target} ID: id value of incorrect type: {value}", [name]
                )
            if record_id not in self.records[target]:
                raise SalesforceFault(
                    400, "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", [name]
                )

    @staticmethod
    def _derive(spec: SObjectSpec, record: dict[str, Any]) -> None:
        if spec.name == "Opportunity":
            record["IsClosed"] = record.get("StageName") in ("Closed Won", "Closed Lost")
            record["IsWon"] = record.get("StageName") == "Closed Won"

    def _notify(self, sobject: str, before: dict[str, Any] | None, after: dict[str, Any]) -> None:
        if self.listener is not None:
            self.listener(sobject, copy.deepcopy(before), copy.deepcopy(after))

    def create(self, sobject: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """Insert a record after validation; external ids need not be unique (as in Salesforce).

        Raises:
            SalesforceFault: The type is unknown or a field is refused.
        """
        spec = spec_of(sobject)
        with self.lock:
            values = validate_fields(spec, body, is_create=True)
            self._check_references(spec, values)
            now = _timestamp(self.clock())
            record = {f.name: f.default for f in spec.fields.values()}
            record.update(values)
            record.update(
                Id=self._new_id(spec), CreatedDate=now, LastModifiedDate=now, SystemModstamp=now
            )
            self._derive(spec, record)
            self.records[spec.name][record["Id"]] = record
            self._notify(spec.name, None, record)
            return copy.deepcopy(record)

    def get(self, sobject: str, record_id: str) -> dict[str, Any]:
        """One record by id (15 or 18 characters).

        Raises:
            SalesforceFault: 404 ``NOT_FOUND``.
        """
        spec = spec_of(sobject)
        with self.lock:
            key = normalize_id(record_id)
            record = self.records[spec.name].get(key or "")
            if record is None:
                raise SalesforceFault(404, "NOT_FOUND", "The requested resource does not exist")
            return copy.deepcopy(record)

    def update(self, sobject: str, record_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """Change the fields in ``body`` on one record.

        Raises:
            SalesforceFault: 404 for an unknown record, 400 for a refused field.
        """
        spec = spec_of(sobject)
        with self.lock:
            before = self.get(spec.name, record_id)
            values = validate_fields(spec, body, is_create=False)
            self._check_references(spec, values)
            record = self.records[spec.name][before["Id"]]
            record.update(values)
            record["LastModifiedDate"] = record["SystemModstamp"] = _timestamp(self.clock())
            self._derive(spec, record)
            self._notify(spec.name, before, record)
            return copy.deepcopy(record)

    def delete(self, sobject: str, record_id: str) -> None:
        """Remove one record.

        Raises:
            SalesforceFault: 404 for an unknown record.
        """
        spec = spec_of(sobject)
        with self.lock:
            before = self.get(spec.name, record_id)
            del self.records[spec.name][before["Id"]]

    def find_by(self, sobject: str, field: str, value: str) -> list[dict[str, Any]]:
        """Every record whose external-id ``field`` equals ``value``.

        Raises:
            SalesforceFault: 404 ``NOT_FOUND`` when ``field`` is not an external id of the type.
        """
        spec = spec_of(sobject)
        if field not in spec.external_id_fields:
            raise SalesforceFault(
                404,
                "NOT_FOUND",
                f"Provided external ID field does not exist or is not accessible: {field}",
            )
        with self.lock:
            return [
                copy.deepcopy(r) for r in self.records[spec.name].values() if r.get(field) == value
            ]

    def upsert(
        self, sobject: str, field: str, value: str, body: Mapping[str, Any]
    ) -> UpsertOutcome:
        """Create or update by external id; with several matches nothing is written.

        Raises:
            SalesforceFault: Unknown type or field, or a refused field value.
        """
        spec = spec_of(sobject)
        with self.lock:
            matches = self.find_by(spec.name, field, value)
            if field in body and body[field] != value:
                raise SalesforceFault(
                    400,
                    "INVALID_FIELD",
                    f"The external ID value in the body does not match the URL for {field}",
                    [field],
                )
            if len(matches) > 1:
                return UpsertOutcome(None, False, tuple(matches))
            fields = {**body, field: value}
            if not matches:
                return UpsertOutcome(self.create(spec.name, fields), True)
            return UpsertOutcome(self.update(spec.name, matches[0]["Id"], fields), False)

    def all_records(self, sobject: str) -> list[dict[str, Any]]:
        """Every record of a type, in creation order."""
        spec = spec_of(sobject)
        with self.lock:
            return [copy.deepcopy(r) for r in self.records[spec.name].values()]

    # -- query cursors -----------------------------------------------------------------------

    def open_cursor(
        self, rows: list[dict[str, Any]], batch_size: int
    ) -> tuple[list[dict[str, Any]], str | None]:
        """The first batch of ``rows`` and the locator of the rest (None when done)."""
        batch = max(self.min_batch_size, min(batch_size, 2000))
        with self.lock:
            if len(rows) <= batch:
                return rows, None
            locator = f"01g{secrets.token_hex(6).upper()}"
            self.cursors[locator] = (rows, batch, batch)
            return rows[:batch], f"{locator}-{batch}"

    def next_batch(self, locator: str) -> tuple[list[dict[str, Any]], str | None, int]:
        """The batch after ``locator`` (``01g...-N``), the next locator, and the total size.

        Raises:
            SalesforceFault: 400 ``INVALID_QUERY_LOCATOR`` for an unknown or used-up locator.
        """
        cursor_id, _, offset_text = locator.partition("-")
        with self.lock:
            state = self.cursors.get(cursor_id)
            if state is None or not offset_text.isdigit():
                raise SalesforceFault(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
            rows, batch, _ = state
            offset = int(offset_text)
            page = rows[offset : offset + batch]
            end = offset + batch
            if end >= len(rows):
                del self.cursors[cursor_id]
                return page, None, len(rows)
            return page, f"{cursor_id}-{end}", len(rows)

    def dump(self) -> dict[str, Any]:
        """Every record and the allowance, JSON-ready."""
        with self.lock:
            return {
                "org_id": self.org_id,
                "api_usage": {"used": self.api_used, "limit": self.api_limit},
                "records": {
                    name: list(rows.values()) for name, rows in copy.deepcopy(self.records).items()
                },
            }


__all__ = ["ChangeListener", "SalesforceOrg", "UpsertOutcome"]
