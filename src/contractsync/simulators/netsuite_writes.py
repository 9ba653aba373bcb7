"""How the NetSuite simulator applies a request body to a record: fields, references, sublists."""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from contractsync.simulators.netsuite_schema import RecordSpec, is_allowed_field
from contractsync.simulators.netsuite_wire import NetSuiteFault

if TYPE_CHECKING:
    from contractsync.simulators.netsuite_records import NetSuiteAccount


def invalid(detail: str, path: str) -> NetSuiteFault:
    """400 ``INVALID_CONTENT`` on the body field at ``path``."""
    return NetSuiteFault(400, "INVALID_CONTENT", detail, path=path)


class RecordWriter:
    """Applies bodies with NetSuite's update rules; the caller holds the account lock.

    Omitted fields stay, ``null`` clears a field, references must name existing records,
    keyed sublists merge by key and unkeyed ones append unless replaced (``?replace=``),
    read-only and unknown standard fields are refused, and transactions get their totals,
    subsidiary and currency (from the customer) and a check against closed periods.

    Args:
        account: The account whose records are referenced.
    """

    def __init__(self, account: NetSuiteAccount) -> None:
        self.account = account

    def ref(self, target: str, value: Any, path: str) -> dict[str, str]:
        """``{"id": ...}`` for a reference to an existing record (or a fixed list's entry)."""
        ref_id = str(value.get("id")) if isinstance(value, dict) else None
        fixed = {
            "subsidiary": self.account.subsidiaries,
            "currency": self.account.currencies,
            "item": self.account.items,
            "jobStatus": self.account.job_statuses,
        }
        known = fixed[target] if target in fixed else self.account.records.get(target, {})
        if ref_id is None or ref_id not in known:
            shown = value.get("id") if isinstance(value, dict) else value
            raise invalid(
                "Error while accessing a resource. You have entered an Invalid Field Value "
                f"{shown} for the following field: {path.split('.')[-1]}",
                path,
            )
        return {"id": ref_id}

    def apply(
        self,
        record_type: str,
        spec: RecordSpec,
        current: Mapping[str, Any],
        body: Mapping[str, Any],
        *,
        replace: set[str],
    ) -> dict[str, Any]:
        """The record ``current`` becomes with ``body`` applied (a new dict).

        Raises:
            NetSuiteFault: 400 for a read-only, unknown or invalid field, a dangling
                reference, a missing required field or a posting into a closed period.
        """
        record = copy.deepcopy(dict(current))
        for name, value in body.items():
            if name in ("id", "links", "dateCreated", "lastModifiedDate"):
                continue  # server-owned: ignored, as NetSuite ignores them in a body
            if name in spec.read_only:
                raise invalid(f"The field {name} is read-only and cannot be set.", name)
            if not is_allowed_field(spec, name):
                raise invalid(f'Invalid field "{name}" for record type {record_type}.', name)
            if name in spec.sublists:
                record[name] = self._sublist(spec, name, record.get(name, []), value, replace)
            elif value is None:
                record.pop(name, None)
            elif name in spec.refs:
                record[name] = self.ref(spec.refs[name], value, name)
            else:
                record[name] = value
        self._derive(record_type, spec, record)
        missing = [label for name, label in spec.required if record.get(name) in (None, "")]
        if missing:
            raise NetSuiteFault(
                400, "USER_ERROR", f"Please enter value(s) for: {', '.join(missing)}"
            )
        return record

    def _sublist(
        self, spec: RecordSpec, name: str, have: list[dict[str, Any]], value: Any, replace: set[str]
    ) -> list[dict[str, Any]]:
        if not isinstance(value, dict) or not isinstance(value.get("items", []), list):
            raise invalid(f"The sublist {name} must be an object with an items array.", name)
        sub = spec.sublists[name]
        items = [] if name in replace else copy.deepcopy(have)
        for index, given in enumerate(value.get("items", [])):
            path = f"{name}.items[{index}]"
            entry = {k: v for k, v in given.items() if k != "links"}
            for field_name, target in sub.refs.items():
                if entry.get(field_name) is not None:
                    entry[field_name] = self.ref(target, entry[field_name], f"{path}.{field_name}")
            same: dict[str, Any] | None = None
            if sub.key and entry.get(sub.key) is not None:
                same = next((i for i in items if i.get(sub.key) == entry[sub.key]), None)
            if same is not None:
                same.update(entry)
            else:
                if sub.key:  # NetSuite numbers the lines of keyed sublists itself
                    entry[sub.key] = max((int(i[sub.key]) for i in items), default=0) + 1
                items.append(entry)
        return items

    def _derive(self, record_type: str, spec: RecordSpec, record: dict[str, Any]) -> None:
        if record_type == "projecttask":
            record["isMilestone"] = float(record.get("plannedWork") or 0) == 0
        if not spec.is_transaction:
            return
        entity = self.account.records["customer"].get(str(record.get("entity", {}).get("id")))
        for inherited in ("subsidiary", "currency"):
            if inherited not in record and entity and inherited in entity:
                record[inherited] = dict(entity[inherited])
        for line in record.get("item", []):
            if "amount" not in line and "rate" in line:
                line["amount"] = round(float(line["rate"]) * float(line.get("quantity", 1)), 2)
        record["total"] = round(sum(float(i.get("amount") or 0) for i in record.get("item", [])), 2)
        record.setdefault(
            "tranDate", dt.datetime.fromtimestamp(self.account.clock(), dt.UTC).date().isoformat()
        )
        if record_type == "invoice":
            self._check_period(record)

    def _check_period(self, record: Mapping[str, Any]) -> None:
        day = dt.date.fromisoformat(str(record["tranDate"]))
        if self.account.closed_through is not None and day <= self.account.closed_through:
            raise NetSuiteFault(
                400,
                self.account.closed_period_code,
                f"The accounting period of {day.isoformat()} is closed; post to an open period.",
                path="tranDate",
            )


__all__ = ["RecordWriter", "invalid"]
