"""A contract's Tryton project, kept in step with the contract: works, products and the pushed copy."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any

from contractsync.adapters.tryton.client import TrytonClient
from contractsync.adapters.tryton.mapping import (
    CONTRACT_ATTACHMENT,
    KEY_PREFIX,
    contract_document,
    contract_from_document,
    contract_works,
    record_key,
    work_changes,
)
from contractsync.adapters.tryton.payloads import WORK_FIELDS, ProductSpec, WorkRow, WorkSpec
from contractsync.adapters.tryton.records import TrytonRecords
from contractsync.adapters.tryton.resilience import SafeCalls
from contractsync.domain.contract import Contract
from contractsync.errors import DataError

_WORK = "project.work"
_ANY_ACTIVE: list[Any] = ["OR", ("active", "=", True), ("active", "=", False)]


@dataclass(frozen=True)
class Company:
    """The Tryton company the hub books in: its id and its currency."""

    id: int
    currency_id: int
    currency_code: str


def _unique(rows: list[WorkRow], what: str) -> WorkRow | None:
    if len(rows) > 1:
        raise DataError(
            f"Two Tryton works carry the key of {what}.",
            code="tryton.duplicate_key",
            detail={"ids": [r.id for r in rows]},
        )
    return rows[0] if rows else None


class ContractProjects:
    """Finds, creates and updates the project of a contract, one safe call at a time.

    Args:
        client: The Tryton client.
        calls: Retry and ambiguity handling for every call.
    """

    def __init__(self, client: TrytonClient, calls: SafeCalls) -> None:
        self.client = client
        self.calls = calls
        self._records = TrytonRecords(client)
        self._products: dict[str, int] = {}
        self._company: Company | None = None

    # -- reads -------------------------------------------------------------------------

    def _search(self, domain: list[Any], limit: int | None = None) -> list[WorkRow]:
        rows = self.calls.read(
            lambda: self.client.search_read(_WORK, domain, WORK_FIELDS, limit=limit)
        )
        return [WorkRow.from_read(r) for r in rows]

    def find(self, contract_id: str) -> WorkRow | None:
        """Return the project of ``contract_id``, if Tryton has it.

        Raises:
            DataError: two projects carry the contract's key.
        """
        key = record_key("project", contract_id)
        rows = self._search([("type", "=", "project"), ("comment", "=", key)], limit=2)
        return _unique(rows, f"contract {contract_id}")

    def works(self, project: int) -> list[WorkRow]:
        """Return every work under ``project`` (itself excluded), ordered by id."""
        return [w for w in self._search([("parent", "child_of", [project])]) if w.id != project]

    def child(self, parent: int, key: str) -> WorkRow | None:
        """Return the work directly under ``parent`` carrying ``key``, if any.

        Raises:
            DataError: two works under ``parent`` carry ``key``.
        """
        return _unique(self._search([("parent", "=", parent), ("comment", "=", key)]), key)

    def _child_id(self, parent: int, key: str) -> int | None:
        found = self.child(parent, key)
        return found.id if found else None

    def company(self) -> Company:
        """Return the company every call works in (read once: one company per database)."""
        if self._company is None:
            company = self.calls.read(lambda: self.client.company_id)
            row = self.calls.read(
                lambda: self.client.read("company.company", [company], ["currency.code"])[0]
            )
            self._company = Company(company, int(row["currency."]["id"]), row["currency."]["code"])
        return self._company

    def basis(self, project: int) -> Contract | None:
        """Return the contract the hub last pushed to ``project``, if it is there."""
        row = self._attachment(project)
        return contract_from_document(row["data"]) if row else None

    def _attachment(self, project: int) -> dict[str, Any] | None:
        domain = [("resource", "=", f"{_WORK},{project}"), ("name", "=", CONTRACT_ATTACHMENT)]
        rows = self.calls.read(
            lambda: self.client.search_read("ir.attachment", domain, ["data"], limit=1)
        )
        return rows[0] if rows else None

    # -- writes ------------------------------------------------------------------------

    def ensure(self, contract: Contract, *, party: int, name: str | None = None) -> int:
        """Create or update the contract's project, tasks and stored copy; return its id.

        A second call with the same contract changes nothing. Missing works are created,
        existing ones renamed and re-priced (not once invoiced); works are never deleted.

        Args:
            contract: The contract to hold.
            party: Tryton id of the customer's party.
            name: The project's name; ``None`` keeps an existing project's name (a new one
                is named after the contract).

        Raises:
            ConflictError: a work changed in Tryton while it was being updated.
        """
        company = self.company()
        if contract.currency != company.currency_code:
            raise DataError(
                f"Contract {contract.id} is in {contract.currency}; the Tryton company books "
                f"in {company.currency_code}.",
                code="tryton.currency_mismatch",
                remediation="Push the contract to the ERP company of its legal entity.",
            )
        spec = contract_works(contract, name=name)
        products = self.ensure_products(spec.walk())
        project = self.find(contract.id)
        if project is None:
            values = spec.create_values(company.id, party, products)
            found = self.calls.write(
                lambda: self.client.create(_WORK, [values])[0],
                lambda: row.id if (row := self.find(contract.id)) else None,
            )
        else:
            found = project.id
            if name is None:
                spec = replace(spec, name=project.name)
            rows = self._keyed([project, *self.works(project.id)])
            self._update(
                spec, rows, parent=None, company=company.id, party=party, products=products
            )
        self._store_basis(found, contract)
        return found

    @staticmethod
    def _keyed(works: list[WorkRow]) -> dict[str, WorkRow]:
        # Tryton's "copy" keeps the comment, so a copied task carries the hub's key too.
        keyed = [w for w in works if w.key.startswith(KEY_PREFIX)]
        rows = {w.key: w for w in keyed}
        if len(rows) != len(keyed):
            raise DataError(
                "Two Tryton works of one project carry the same contractsync key.",
                code="tryton.duplicate_key",
                remediation="Clear the comment of the copy in Tryton, then retry.",
                detail={"ids": [w.id for w in keyed]},
            )
        return rows

    def ensure_products(self, works: Iterable[WorkSpec | ProductSpec]) -> dict[str, int]:
        """Return the ids of the products of ``works`` by code, creating missing ones.

        Ids are remembered for the life of this object: the hub never deletes products.
        """
        wanted = {
            p.code: p
            for w in works
            if (p := w if isinstance(w, ProductSpec) else w.product) is not None
        }
        for code, product in wanted.items():
            if code not in self._products:
                self._products[code] = self._ensure_product(product)
        return {code: self._products[code] for code in wanted}

    def _ensure_product(self, product: ProductSpec) -> int:
        def lookup() -> int | None:
            domain = [("code", "=", product.code), _ANY_ACTIVE]
            found = self.client.search("product.product", domain, limit=1)
            return found[0] if found else None

        return self.calls.write(
            lambda: self._records.ensure_product(product.code, product.name, product.uom), lookup
        )

    def _update(
        self,
        spec: WorkSpec,
        rows: dict[str, WorkRow],
        *,
        parent: int | None,
        company: int,
        party: int,
        products: dict[str, int],
    ) -> None:
        row = rows.get(spec.key)
        if row is None:
            assert parent is not None  # the root exists: ensure() found it
            values = {**spec.create_values(company, party, products), "parent": parent}
            self.calls.write(
                lambda: self.client.create(_WORK, [values])[0],
                lambda: self._child_id(parent, spec.key),
            )
            return  # its children were created with it
        # Only the project names the customer; a task's party is what it was created with.
        moved = parent is None and row.party_id != party
        changes = {**work_changes(spec, row), **({"party": party} if moved else {})}
        if changes:

            def is_done(fresh: WorkRow) -> bool:
                return not work_changes(spec, fresh) and (not moved or fresh.party_id == party)

            self._write(row, changes, is_done)
        for child in spec.children:
            self._update(
                child, rows, parent=row.id, company=company, party=party, products=products
            )

    def _write(
        self, row: WorkRow, changes: dict[str, Any], is_done: Callable[[WorkRow], bool]
    ) -> None:
        # The read timestamp makes Tryton refuse the write if a user edited the work since.
        stamps = {row.id: row.timestamp} if row.timestamp else None

        def lookup() -> int | None:
            fresh = WorkRow.from_read(self.client.read(_WORK, [row.id], WORK_FIELDS)[0])
            return row.id if is_done(fresh) else None

        def write() -> int:
            self.client.write(_WORK, [row.id], changes, timestamps=stamps)
            return row.id

        self.calls.write(write, lookup)

    def _store_basis(self, project: int, contract: Contract) -> None:
        data = contract_document(contract)
        row = self._attachment(project)

        def lookup() -> int | None:
            found = self._attachment(project)
            return int(found["id"]) if found and found["data"] == data else None

        if row is None:
            values = {
                "name": CONTRACT_ATTACHMENT,
                "resource": f"{_WORK},{project}",
                "type": "data",
                "data": data,
                "description": "The contract as contractsync last pushed it; do not edit.",
            }
            self.calls.write(lambda: self.client.create("ir.attachment", [values])[0], lookup)
        elif row["data"] != data:
            attachment = int(row["id"])

            def write() -> int:
                self.client.write("ir.attachment", [attachment], {"data": data})
                return attachment

            self.calls.write(write, lookup)
