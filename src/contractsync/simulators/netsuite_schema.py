"""What the NetSuite simulator knows of each record type: fields, references, sublists, queries.

The subset of SuiteTalk REST records the hub uses (``reference/vendors.md`` §4.1). Standard
fields outside a type's list are refused as NetSuite refuses an unknown field; any field
starting with ``cust`` is accepted as a custom field. ``q`` supports the simple
``field OPERATOR value`` conditions joined by ``AND`` that the REST record service documents.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from contractsync.simulators.netsuite_wire import NetSuiteFault


@dataclass(frozen=True, slots=True)
class SublistSpec:
    """A sublist: keyed sublists merge items by ``key``, unkeyed ones append (§4.1)."""

    key: str | None = None
    refs: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RecordSpec:
    """One record type.

    Attributes:
        fields: Standard body fields a client may send.
        required: (field, label) pairs a saved record must have.
        refs: Body fields that reference another record, by target type.
        sublists: Sublists by name.
        read_only: Fields shown but never settable through REST.
        is_transaction: Has a ``total`` and takes subsidiary and currency from its entity.
    """

    fields: frozenset[str]
    required: tuple[tuple[str, str], ...] = ()
    refs: Mapping[str, str] = field(default_factory=dict)
    sublists: Mapping[str, SublistSpec] = field(default_factory=dict)
    read_only: frozenset[str] = frozenset()
    is_transaction: bool = False


_ENTITY = {"subsidiary": "subsidiary", "currency": "currency"}
SPECS: dict[str, RecordSpec] = {
    "customer": RecordSpec(
        fields=frozenset(
            [
                "companyName",
                "isPerson",
                "firstName",
                "lastName",
                "email",
                "phone",
                "subsidiary",
                "currency",
                "vatRegNumber",
                "comments",
                "entityId",
                "isInactive",
                "terms",
                "addressBook",
            ]
        ),
        required=(("companyName", "Company Name"), ("subsidiary", "Primary Subsidiary")),
        refs=_ENTITY,
        sublists={"addressBook": SublistSpec()},
    ),
    "job": RecordSpec(
        fields=frozenset(
            [
                "companyName",
                "entityId",
                "parent",
                "subsidiary",
                "currency",
                "startDate",
                "projectedEndDate",
                "endDate",
                "comments",
                "isInactive",
                "entityStatus",
                "jobType",
            ]
        ),
        required=(("companyName", "Project Name"), ("parent", "Customer")),
        refs={"parent": "customer", "entityStatus": "jobStatus", **_ENTITY},
    ),
    "projecttask": RecordSpec(
        # [C] isMilestone is not settable via REST; the simulator derives it from plannedWork.
        fields=frozenset(
            [
                "title",
                "company",
                "plannedWork",
                "startDateTime",
                "finishByDate",
                "status",
                "message",
                "parent",
            ]
        ),
        required=(("title", "Name"), ("company", "Project")),
        refs={"company": "job", "parent": "projecttask"},
        read_only=frozenset({"isMilestone"}),
    ),
    "billingSchedule": RecordSpec(
        fields=frozenset(
            [
                "name",
                "scheduleType",
                "frequency",
                "inArrears",
                "initialAmount",
                "numberRemaining",
                "repeatEvery",
                "project",
                "isInactive",
                "milestone",
            ]
        ),
        required=(("name", "Name"),),
        refs={"project": "job"},
        sublists={"milestone": SublistSpec(refs={"projectTask": "projecttask"})},
    ),
    "salesOrder": RecordSpec(
        fields=frozenset(
            [
                "entity",
                "job",
                "subsidiary",
                "currency",
                "tranDate",
                "startDate",
                "endDate",
                "memo",
                "otherRefNum",
                "billingSchedule",
                "orderStatus",
                "terms",
                "item",
            ]
        ),
        required=(("entity", "Customer"),),
        refs={"entity": "customer", "job": "job", "billingSchedule": "billingSchedule", **_ENTITY},
        sublists={
            "item": SublistSpec(
                key="line", refs={"item": "item", "billingSchedule": "billingSchedule"}
            )
        },
        is_transaction=True,
    ),
    "invoice": RecordSpec(
        fields=frozenset(
            [
                "entity",
                "createdFrom",
                "job",
                "currency",
                "subsidiary",
                "tranDate",
                "dueDate",
                "memo",
                "otherRefNum",
                "terms",
                "item",
            ]
        ),
        required=(("entity", "Customer"),),
        refs={"entity": "customer", "createdFrom": "salesOrder", "job": "job", **_ENTITY},
        sublists={"item": SublistSpec(key="line", refs={"item": "item"})},
        is_transaction=True,
    ),
}
"""Writable record types, by the name used in ``/record/v1/{type}``."""

READ_ONLY_TYPES = frozenset({"accountingPeriod"})
"""Types served for reading only (generated by the simulator)."""

EXTERNAL_ID = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
"""[C] externalId characters: letters, digits, ``_`` and ``-``."""


def spec_of(record_type: str) -> RecordSpec:
    """The spec of a writable type.

    Raises:
        NetSuiteFault: 404 ``INVALID_RECORD_TYPE`` for a type the simulator does not serve.
    """
    spec = SPECS.get(record_type)
    if spec is None:
        raise NetSuiteFault(
            404,
            "INVALID_RECORD_TYPE",
            f"The record type [{record_type.upper()}] is invalid or not supported.",
        )
    return spec


def is_allowed_field(spec: RecordSpec, name: str) -> bool:
    """True for a standard field of the type, ``externalId``, or a custom (``cust``) field."""
    return name in spec.fields or name == "externalId" or name.startswith("cust")


_CONDITION = re.compile(
    r'^\s*(?P<field>[A-Za-z_][A-Za-z0-9_.]*)\s+(?P<op>[A-Z_]+)\s+(?P<value>".*?"|\[.*?\]|\S+)\s*$'
)
_OPS: dict[str, Callable[[str, list[str]], bool]] = {
    "IS": lambda have, want: have == want[0],
    "EQUAL": lambda have, want: have == want[0],
    "IS_NOT": lambda have, want: have != want[0],
    "ANY_OF": lambda have, want: have in want,
    "START_WITH": lambda have, want: have.startswith(want[0]),
    "CONTAIN": lambda have, want: want[0] in have,
}


def _values(text: str) -> list[str]:
    if text.startswith("["):
        return [part.strip().strip('"') for part in text[1:-1].split(",") if part.strip()]
    return [text.strip('"')]


def parse_q(q: str) -> Callable[[Mapping[str, Any]], bool]:
    """Compile a ``q`` filter such as ``custbody_key IS "K-1" AND entity ANY_OF [12, 14]``.

    References compare by internal id; booleans as ``true``/``false``.

    Raises:
        NetSuiteFault: 400 ``INVALID_PARAMETER`` for a condition it cannot read.
    """
    tests: list[Callable[[Mapping[str, Any]], bool]] = []
    for part in re.split(r"\s+AND\s+", q.strip()):
        match = _CONDITION.match(part)
        if match is None or match["op"] not in _OPS:
            raise NetSuiteFault(400, "INVALID_PARAMETER", f"Invalid query parameter value: q = {q}")
        name, compare, wanted = match["field"], _OPS[match["op"]], _values(match["value"])

        def test(
            record: Mapping[str, Any],
            name: str = name,
            compare: Callable[[str, list[str]], bool] = compare,
            wanted: list[str] = wanted,
        ) -> bool:
            value = record.get(name)
            if isinstance(value, dict):
                value = value.get("id")
            if isinstance(value, bool):
                value = str(value).lower()
            return value is not None and compare(str(value), wanted)

        tests.append(test)
    return lambda record: all(test(record) for test in tests)


__all__ = [
    "EXTERNAL_ID",
    "READ_ONLY_TYPES",
    "SPECS",
    "RecordSpec",
    "SublistSpec",
    "is_allowed_field",
    "parse_q",
    "spec_of",
]
