"""Tryton's wire format: JSON-RPC envelopes, tagged types, the records the hub reads and writes."""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any


def _tag(value: object) -> object:
    # datetime is a subclass of date, so it must be tested first.
    if isinstance(value, Decimal):
        return {"__class__": "Decimal", "decimal": str(value)}
    if isinstance(value, dt.datetime):
        return {
            "__class__": "datetime",
            "year": value.year,
            "month": value.month,
            "day": value.day,
            "hour": value.hour,
            "minute": value.minute,
            "second": value.second,
            "microsecond": value.microsecond,
        }
    if isinstance(value, dt.date):
        return {"__class__": "date", "year": value.year, "month": value.month, "day": value.day}
    if isinstance(value, dt.timedelta):
        return {"__class__": "timedelta", "seconds": value.total_seconds()}
    if isinstance(value, bytes | bytearray):
        return {"__class__": "bytes", "base64": base64.b64encode(value).decode()}
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not serialisable for Tryton")


def _untag(obj: dict[str, Any]) -> Any:
    kind = obj.get("__class__")
    if kind == "Decimal":
        return Decimal(obj["decimal"])
    if kind == "date":
        return dt.date(obj["year"], obj["month"], obj["day"])
    if kind == "datetime":
        return dt.datetime(
            obj["year"],
            obj["month"],
            obj["day"],
            obj.get("hour", 0),
            obj.get("minute", 0),
            obj.get("second", 0),
            obj.get("microsecond", 0),
        )
    if kind == "time":
        return dt.time(
            obj.get("hour", 0),
            obj.get("minute", 0),
            obj.get("second", 0),
            obj.get("microsecond", 0),
        )
    if kind == "timedelta":
        return dt.timedelta(seconds=obj["seconds"])
    if kind == "bytes":
        return base64.b64decode(obj["base64"])
    return obj


def request_body(request_id: int, method: str, params: list[Any]) -> bytes:
    """Return the JSON bytes of one full JSON-RPC envelope.

    A full envelope (``id``, ``method``, ``params``) matters: without it Tryton answers
    user errors with an HTML 400 instead of a structured ``error`` member.

    Raises:
        TypeError: if a parameter has a type Tryton cannot receive.
    """
    envelope = {"id": request_id, "method": method, "params": params}
    return json.dumps(envelope, default=_tag, separators=(",", ":")).encode()


def decode(body: bytes) -> Any:
    """Parse a Tryton reply, turning tagged objects back into Decimal, date, timedelta, bytes.

    Raises:
        ValueError: if the body is not JSON.
    """
    return json.loads(body, object_hook=_untag)


# -- the records the hub writes and reads, in Tryton's own field names ------------------


@dataclass(frozen=True)
class PartyValues:
    """The ``party.party`` values the hub owns for one customer.

    Attributes:
        code: The party's unique code: the canonical customer id.
        name: The party's name.
        identifiers: ``(type, code)`` pairs for ``party.identifier``.
        country: ISO code of the invoice address's country.
    """

    code: str
    name: str
    identifiers: tuple[tuple[str, str], ...] = ()
    country: str | None = None

    def create_values(self, country_id: int | None) -> dict[str, Any]:
        """Return the ``create`` values, with one invoice address (Tryton invoices need one)."""
        address: dict[str, Any] = {"invoice": True}
        if country_id is not None:
            address["country"] = country_id
        values: dict[str, Any] = {
            "code": self.code,
            "name": self.name,
            "addresses": [["create", [address]]],
        }
        if self.identifiers:
            values["identifiers"] = [["create", [identifier_values(i) for i in self.identifiers]]]
        return values


def identifier_values(identifier: tuple[str, str]) -> dict[str, str]:
    """Return the ``party.identifier`` values of one ``(type, code)`` pair."""
    return {"type": identifier[0], "code": identifier[1]}


PARTY_FIELDS = ("code", "name", "identifiers.type", "identifiers.code", "addresses.country.code")
"""Fields read to build a ``PartyRow``."""


@dataclass(frozen=True)
class PartyRow:
    """A ``party.party`` as read back: code, name, identifiers and address countries."""

    id: int
    code: str
    name: str
    identifiers: tuple[tuple[str, str], ...] = ()
    countries: tuple[str, ...] = ()

    @classmethod
    def from_read(cls, row: Mapping[str, Any]) -> PartyRow:
        """Build the row from a ``read`` of ``PARTY_FIELDS``."""
        identifiers = tuple(
            (str(i["type"] or ""), str(i["code"])) for i in row.get("identifiers.") or []
        )
        countries = tuple(
            str(a["country."]["code"]) for a in row.get("addresses.") or [] if a.get("country.")
        )
        return cls(int(row["id"]), str(row["code"] or ""), str(row["name"]), identifiers, countries)


@dataclass(frozen=True)
class ProductSpec:
    """A service product the hub's works are invoiced with: code, name and unit symbol."""

    code: str
    name: str
    uom: str


@dataclass(frozen=True)
class WorkSpec:
    """One ``project.work`` the hub owns, found by the marker ``key`` in its comment.

    Attributes:
        key: The exact marker kept in ``comment`` (see ADR 0002).
        name: The work's name.
        type: ``project`` or ``task``.
        product: The product it is invoiced with, if any.
        list_price: Its fixed price (a milestone) or hourly price (a T&M role).
        invoice_method: ``project_invoice_method`` of a work of type ``project``.
        timesheet_dates: First and last day time may be booked on it.
        invoice_up_to: ``project_invoice_timesheet_up_to`` of a timesheet-invoiced project.
        children: The works under it.
    """

    key: str
    name: str
    type: str
    product: ProductSpec | None = None
    list_price: Decimal | None = None
    invoice_method: str | None = None
    timesheet_dates: tuple[dt.date, dt.date] | None = None
    invoice_up_to: dt.date | None = None
    children: tuple[WorkSpec, ...] = ()

    def walk(self) -> list[WorkSpec]:
        """Return this work and every work under it, parents before children."""
        return [self, *(w for child in self.children for w in child.walk())]

    def create_values(
        self, company: int, party: int, products: Mapping[str, int]
    ) -> dict[str, Any]:
        """Return the ``create`` values of this work and, nested, of its children.

        RPC creates skip Tryton's on_change logic, so company, party and prices are explicit.
        """
        values: dict[str, Any] = {
            "name": self.name,
            "type": self.type,
            "company": company,
            "party": party,
            "comment": self.key,
        }
        if self.product is not None:
            values["product"] = products[self.product.code]
        if self.list_price is not None:
            values["list_price"] = self.list_price
        if self.invoice_method is not None:
            values["project_invoice_method"] = self.invoice_method
        if self.invoice_up_to is not None:
            values["project_invoice_timesheet_up_to"] = self.invoice_up_to
        if self.timesheet_dates is not None:
            values["timesheet_available"] = True
            values["timesheet_start_date"], values["timesheet_end_date"] = self.timesheet_dates
        elif self.type == "task":
            values["timesheet_available"] = True
        if self.children:
            children = [c.create_values(company, party, products) for c in self.children]
            values["children"] = [["create", children]]
        return values


WORK_FIELDS = (
    "comment",
    "name",
    "type",
    "parent",
    "list_price",
    "invoice_line",
    "party.code",
    "timesheet_start_date",
    "timesheet_end_date",
    "status.progress",
    "_timestamp",
)
"""Fields read to build a ``WorkRow``."""


@dataclass(frozen=True)
class WorkRow:
    """A ``project.work`` as read back."""

    id: int
    key: str
    name: str
    type: str
    parent: int | None = None
    list_price: Decimal | None = None
    invoice_line: int | None = None
    party_id: int | None = None
    party_code: str | None = None
    timesheet_dates: tuple[dt.date, dt.date] | None = None
    timestamp: str | None = None
    status_id: int | None = None
    status_progress: float | None = None
    """The least progress the work's status requires (1.0 for Tryton's Done, else None)."""

    @property
    def is_invoiced(self) -> bool:
        """True when Tryton has put this work on an invoice line."""
        return self.invoice_line is not None

    @classmethod
    def from_read(cls, row: Mapping[str, Any]) -> WorkRow:
        """Build the row from a ``read`` of ``WORK_FIELDS``."""
        start, end = row.get("timesheet_start_date"), row.get("timesheet_end_date")
        party, status = row.get("party."), row.get("status.")
        return cls(
            id=int(row["id"]),
            key=str(row.get("comment") or ""),
            name=str(row["name"]),
            type=str(row["type"]),
            parent=row.get("parent"),
            list_price=row.get("list_price"),
            invoice_line=row.get("invoice_line"),
            party_id=int(party["id"]) if party else None,
            party_code=str(party["code"]) if party and party.get("code") else None,
            timesheet_dates=(start, end) if start and end else None,
            timestamp=row.get("_timestamp"),
            status_id=int(status["id"]) if status else None,
            status_progress=status.get("progress") if status else None,
        )
