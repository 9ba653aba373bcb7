"""A minimal SOQL subset for the Salesforce simulator.

``SELECT f1, f2 FROM Type [WHERE f op value [AND ...]] [ORDER BY f [ASC|DESC]] [LIMIT n]``
with ``op`` one of ``=``, ``!=``, ``IN (...)``, and values ``'text'``, numbers, ``true``,
``false`` and ``null``. Anything else is refused with ``MALFORMED_QUERY``, as Salesforce
refuses what it cannot parse. Keywords and field names are case-insensitive.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from contractsync.simulators.salesforce_schema import SOBJECTS, SalesforceFault, SObjectSpec

_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^'\\]|\\.)*')|(?P<num>-?\d+(?:\.\d+)?)|(?P<op>!=|=|\(|\)|,)"
    r"|(?P<word>[A-Za-z_][A-Za-z0-9_.]*))"
)


@dataclass(frozen=True, slots=True)
class Condition:
    """``field op value``; ``value`` is a tuple for ``IN``."""

    field: str
    op: str
    value: Any

    def holds(self, record: dict[str, Any]) -> bool:
        """True when ``record`` satisfies the condition."""
        actual = record.get(self.field)
        if self.op == "=":
            return bool(actual == self.value)
        if self.op == "!=":
            return bool(actual != self.value)
        return actual in self.value


@dataclass(frozen=True, slots=True)
class Query:
    """A parsed query."""

    spec: SObjectSpec
    fields: tuple[str, ...]
    where: tuple[Condition, ...] = ()
    order_by: str | None = None
    descending: bool = False
    limit: int | None = None

    def run(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Filter, sort and cut ``rows``; the caller projects ``fields``."""
        found = [r for r in rows if all(c.holds(r) for c in self.where)]
        if self.order_by is not None:
            key = self.order_by
            # Salesforce sorts nulls first ascending; (is-not-null, value) does the same.
            found.sort(
                key=lambda r: (r.get(key) is not None, str(r.get(key) or "")),
                reverse=self.descending,
            )
        if self.limit is not None:
            found = found[: self.limit]
        return found


def _malformed(detail: str) -> SalesforceFault:
    return SalesforceFault(400, "MALFORMED_QUERY", detail)


def _tokens(text: str) -> Iterator[tuple[str, str]]:
    position = 0
    text = text.strip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise _malformed(f"unexpected token: '{text[position : position + 20]}'")
        position = match.end()
        kind = match.lastgroup or ""
        yield kind, match.group(kind)


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = list(_tokens(text))
        self.position = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise _malformed("unexpected end of query")
        self.position += 1
        return token

    def keyword(self, word: str) -> bool:
        token = self.peek()
        if token and token[0] == "word" and token[1].upper() == word:
            self.position += 1
            return True
        return False

    def expect(self, word: str) -> None:
        if not self.keyword(word):
            found = self.peek()
            raise _malformed(f"expecting '{word}', found '{found[1] if found else 'EOF'}'")

    def value(self) -> Any:
        kind, text = self.take()
        if kind == "str":
            return re.sub(r"\\(.)", r"\1", text[1:-1])
        if kind == "num":
            return float(text) if "." in text else int(text)
        if kind == "word" and text.lower() in ("true", "false", "null"):
            return {"true": True, "false": False, "null": None}[text.lower()]
        raise _malformed(f"unexpected token: '{text}'")


def _field(spec: SObjectSpec, name: str) -> str:
    for known in spec.fields:
        if known.lower() == name.lower():
            return known
    raise SalesforceFault(
        400,
        "INVALID_FIELD",
        f"No such column '{name}' on entity '{spec.name}'. If you are attempting to use a custom "
        "field, be sure to append the '__c' after the custom field name. Please reference your "
        "WSDL or the describe call for the appropriate names.",
    )


def parse(text: str) -> Query:
    """Parse a SOQL query of the supported subset.

    Raises:
        SalesforceFault: 400 ``MALFORMED_QUERY``, ``INVALID_TYPE`` or ``INVALID_FIELD``.
    """
    parser = _Parser(text)
    parser.expect("SELECT")
    names: list[str] = []
    while True:
        kind, name = parser.take()
        if kind != "word":
            raise _malformed(f"unexpected token: '{name}'")
        names.append(name)
        if parser.peek() != ("op", ","):
            break
        parser.take()
    parser.expect("FROM")
    _, sobject = parser.take()
    spec = next((s for s in SOBJECTS.values() if s.name.lower() == sobject.lower()), None)
    if spec is None:
        raise SalesforceFault(400, "INVALID_TYPE", f"sObject type '{sobject}' is not supported.")
    fields = tuple(_field(spec, name) for name in names)
    where: list[Condition] = []
    if parser.keyword("WHERE"):
        while True:
            _, name = parser.take()
            field = _field(spec, name)
            if parser.keyword("IN"):
                if parser.take() != ("op", "("):
                    raise _malformed("expecting '(' after IN")
                values = [parser.value()]
                while parser.peek() == ("op", ","):
                    parser.take()
                    values.append(parser.value())
                if parser.take() != ("op", ")"):
                    raise _malformed("expecting ')'")
                where.append(Condition(field, "IN", tuple(values)))
            else:
                kind, op = parser.take()
                if kind != "op" or op not in ("=", "!="):
                    raise _malformed(f"unexpected token: '{op}'")
                where.append(Condition(field, op, parser.value()))
            if not parser.keyword("AND"):
                break
    order_by, descending = None, False
    if parser.keyword("ORDER"):
        parser.expect("BY")
        order_by = _field(spec, parser.take()[1])
        descending = parser.keyword("DESC") or (parser.keyword("ASC") and False)
    limit = None
    if parser.keyword("LIMIT"):
        value = parser.value()
        if not isinstance(value, int) or value < 0:
            raise _malformed("LIMIT must be a non-negative integer")
        limit = value
    if parser.peek() is not None:
        raise _malformed(f"unexpected token: '{parser.take()[1]}'")
    return Query(spec, fields, tuple(where), order_by, descending, limit)


__all__ = ["Condition", "Query", "parse"]
