"""The simulated NetSuite account: records by internal id and externalId, sublists and periods."""

from __future__ import annotations

import copy
import datetime as dt
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from contractsync.simulators.netsuite_schema import (
    EXTERNAL_ID,
    SPECS,
    parse_q,
    spec_of,
)
from contractsync.simulators.netsuite_wire import NetSuiteFault, link, record_url
from contractsync.simulators.netsuite_writes import RecordWriter, invalid

DEFAULT_SUBSIDIARIES = {"1": "Parent Company", "2": "Contractsync Demo Services Ltd (DE)"}
DEFAULT_CURRENCIES = {"1": "USD", "2": "GBP", "3": "CAD", "4": "EUR"}
DEFAULT_ITEMS = {"10": "Professional Services", "11": "Support Services"}
DEFAULT_JOB_STATUSES = {
    "1": "Closed",
    "2": "In Progress",
    "3": "Not Awarded",
    "4": "Pending",
    "5": "Awarded",
}
"""[U] A new account's project statuses (job ``entityStatus``) by internal id."""
PERIOD_YEARS = range(2024, 2031)


def _not_found(record_type: str, key: str) -> NetSuiteFault:
    # [I] NetSuite's wording for an unknown instance.
    return NetSuiteFault(
        404,
        "NONEXISTENT_ID",
        f"The record instance does not exist. Provide a valid record instance ID ({record_type} {key}).",
    )


def _periods() -> list[dict[str, Any]]:
    periods = []
    for year in PERIOD_YEARS:
        for month in range(1, 13):
            start = dt.date(year, month, 1)
            end = (start + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
            periods.append(
                {
                    "id": str((year - 2000) * 100 + month),
                    "periodName": start.strftime("%b %Y"),
                    "startDate": start.isoformat(),
                    "endDate": end.isoformat(),
                    "isQuarter": False,
                    "isYear": False,
                    "isAdjust": False,
                }
            )
    return periods


class NetSuiteAccount:
    """One account's records. Thread-safe: every public method holds the account lock.

    Subsidiaries, currencies, service items and project statuses (``job_statuses``, what a
    job's ``entityStatus`` references) are fixed lists; records reference them by id.

    Args:
        subsidiaries: Subsidiary internal id -> name (``LegalEntity.erp_company`` is the id).
        currencies: Currency internal id -> ISO code.
        items: Service item internal id -> name.
        closed_period_code: ``o:errorCode`` for a posting into a closed period ([U]).
        clock: Unix seconds.
    """

    def __init__(
        self,
        *,
        subsidiaries: Mapping[str, str] | None = None,
        currencies: Mapping[str, str] | None = None,
        items: Mapping[str, str] | None = None,
        closed_period_code: str = "PERIOD_CLOSED",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.lock = threading.RLock()
        self.subsidiaries = dict(subsidiaries or DEFAULT_SUBSIDIARIES)
        self.currencies = dict(currencies or DEFAULT_CURRENCIES)
        self.items = dict(items or DEFAULT_ITEMS)
        self.job_statuses = dict(DEFAULT_JOB_STATUSES)
        self.closed_period_code = closed_period_code
        self.clock = clock
        self.writer = RecordWriter(self)
        self.reset()

    def reset(self) -> None:
        """No records, every period open."""
        with self.lock:
            self.records: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in SPECS}
            self.external_ids: dict[str, dict[str, str]] = {name: {} for name in SPECS}
            self.closed_through: dt.date | None = None
            self._next_id = 100

    # -- reading -----------------------------------------------------------------------

    def resolve(self, record_type: str, key: str) -> str:
        """The internal id for ``key`` (an id or ``eid:<externalId>``).

        Raises:
            NetSuiteFault: 404 for an unknown type or record.
        """
        spec_of(record_type)
        with self.lock:
            if key.startswith("eid:"):
                found = self.external_ids[record_type].get(key[4:])
                if found is None:
                    raise _not_found(record_type, key)
                return found
            if key not in self.records[record_type]:
                raise _not_found(record_type, key)
            return key

    def raw(self, record_type: str, key: str) -> dict[str, Any]:
        """A deep copy of the stored record (``key`` is an id or ``eid:...``)."""
        with self.lock:
            return copy.deepcopy(self.records[record_type][self.resolve(record_type, key)])

    def ids(self, record_type: str, q: str | None = None) -> list[str]:
        """Ids of a type in creation order, filtered by a ``q`` expression."""
        if record_type == "accountingPeriod":
            rows = self.periods()
        else:
            spec_of(record_type)
            with self.lock:
                rows = list(self.records[record_type].values())
        keep = parse_q(q) if q else (lambda _row: True)
        return [str(row["id"]) for row in rows if keep(row)]

    def periods(self) -> list[dict[str, Any]]:
        """Every accounting period, with ``closed`` from the operator's last close."""
        with self.lock:
            closed = self.closed_through
        return [
            {**p, "closed": closed is not None and dt.date.fromisoformat(p["endDate"]) <= closed}
            for p in _periods()
        ]

    def render(
        self, base_url: str, record_type: str, key: str, *, expand: bool = False
    ) -> dict[str, Any]:
        """A record as ``GET`` answers it: links, references with ``refName``, sublists.

        Sublists are links only unless ``expand`` (``expandSubResources=true``).
        """
        if record_type == "accountingPeriod":
            period = next((p for p in self.periods() if p["id"] == key), None)
            if period is None:
                raise _not_found(record_type, key)
            return {"links": [link("self", record_url(base_url, record_type, key))], **period}
        spec = spec_of(record_type)
        record = self.raw(record_type, key)
        url = record_url(base_url, record_type, record["id"])
        shown: dict[str, Any] = {"links": [link("self", url)]}
        for name, value in record.items():
            if name in spec.sublists:
                items = [self._render_refs(base_url, spec.sublists[name].refs, i) for i in value]
                sub_links = [link("self", f"{url}/{name}")]
                shown[name] = (
                    {"links": sub_links, "items": items} if expand else {"links": sub_links}
                )
            else:
                shown[name] = value
        return self._render_refs(base_url, spec.refs, shown)

    def _render_refs(
        self, base_url: str, refs: Mapping[str, str], values: Mapping[str, Any]
    ) -> dict[str, Any]:
        shown = dict(values)
        for name, target in refs.items():
            ref = shown.get(name)
            if isinstance(ref, dict) and "id" in ref:
                shown[name] = {
                    "links": [],
                    "id": ref["id"],
                    "refName": self._name(target, ref["id"]),
                }
                if target in SPECS:
                    shown[name]["links"] = [link("self", record_url(base_url, target, ref["id"]))]
        return shown

    def _name(self, target: str, ref_id: str) -> str:
        fixed = {
            "subsidiary": self.subsidiaries,
            "currency": self.currencies,
            "item": self.items,
            "jobStatus": self.job_statuses,
        }
        if target in fixed:
            return fixed[target].get(ref_id, ref_id)
        record = self.records.get(target, {}).get(ref_id, {})
        return str(record.get("companyName") or record.get("title") or record.get("name") or ref_id)

    # -- writing -----------------------------------------------------------------------

    def create(self, record_type: str, body: Mapping[str, Any]) -> str:
        """Create a record; return its internal id.

        Raises:
            NetSuiteFault: 400 for a missing, unknown, read-only or invalid field, or an
                externalId already used by a record of the type.
        """
        spec = spec_of(record_type)
        with self.lock:
            external_id = body.get("externalId")
            if external_id is not None and external_id in self.external_ids[record_type]:
                raise NetSuiteFault(
                    400,
                    "DUP_RCRD",
                    f"A {record_type} record with external ID {external_id} already exists.",
                    path="externalId",
                )
            record = self.writer.apply(record_type, spec, {}, body, replace=set())
            record_id = str(self._next_id)
            self._next_id += 1
            stamp = self._stamp()
            record.update(id=record_id, dateCreated=stamp, lastModifiedDate=stamp)
            self._store(record_type, record)
            return record_id

    def update(
        self, record_type: str, key: str, body: Mapping[str, Any], *, replace: set[str]
    ) -> str:
        """``PATCH`` semantics: omitted fields unchanged, ``null`` clears, sublists merge.

        Raises:
            NetSuiteFault: 404 for an unknown record, 400 as ``create``.
        """
        spec = spec_of(record_type)
        with self.lock:
            record_id = self.resolve(record_type, key)
            current = self.records[record_type][record_id]
            external_id = body.get("externalId")
            owner = self.external_ids[record_type].get(str(external_id))
            if external_id is not None and owner not in (None, record_id):
                raise NetSuiteFault(
                    400, "DUP_RCRD", f"External ID {external_id} is in use.", path="externalId"
                )
            record = self.writer.apply(record_type, spec, current, body, replace=replace)
            record["lastModifiedDate"] = self._stamp()
            if current.get("externalId") not in (None, record.get("externalId")):
                self.external_ids[record_type].pop(str(current["externalId"]), None)
            self._store(record_type, record)
            return record_id

    def upsert(
        self, record_type: str, external_id: str, body: Mapping[str, Any], *, replace: set[str]
    ) -> tuple[str, bool]:
        """``PUT .../eid:X``: create when no record holds ``external_id``, else update.

        Returns:
            The internal id, and True when the record was created.

        Raises:
            NetSuiteFault: 400 for an invalid external id or a body naming another one.
        """
        if not EXTERNAL_ID.match(external_id):
            raise invalid(f"Invalid external ID: {external_id}.", "externalId")
        if body.get("externalId") not in (None, external_id):
            raise invalid(
                "The externalId in the body differs from the one in the URL.", "externalId"
            )
        with self.lock:
            if external_id in self.external_ids[record_type]:
                return self.update(record_type, f"eid:{external_id}", body, replace=replace), False
            return self.create(record_type, {**body, "externalId": external_id}), True

    def _stamp(self) -> str:
        return dt.datetime.fromtimestamp(self.clock(), dt.UTC).isoformat(timespec="seconds")

    def _store(self, record_type: str, record: dict[str, Any]) -> None:
        self.records[record_type][record["id"]] = record
        if record.get("externalId"):
            self.external_ids[record_type][str(record["externalId"])] = record["id"]

    def dump(self) -> dict[str, Any]:
        """Every record and the closed-through date, JSON-ready."""
        with self.lock:
            return {
                "records": copy.deepcopy(self.records),
                "closed_through": self.closed_through.isoformat() if self.closed_through else None,
            }


__all__ = [
    "DEFAULT_CURRENCIES",
    "DEFAULT_ITEMS",
    "DEFAULT_JOB_STATUSES",
    "DEFAULT_SUBSIDIARIES",
    "NetSuiteAccount",
]
