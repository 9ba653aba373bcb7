"""Idempotent parties, products and employees in Tryton: search by unique code, then create."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

import pycountry

from contractsync.adapters.tryton.client import TrytonClient
from contractsync.adapters.tryton.mapping import SERVICES_CATEGORY, identifier_type
from contractsync.domain.tax import TaxIdentifier
from contractsync.errors import ConfigError, DataError

# Archived records still hold their unique code, so lookups must see them too.
_ANY_ACTIVE: list[Any] = ["OR", ("active", "=", True), ("active", "=", False)]
# Employee cost prices are dated; one far in the past covers every timesheet.
_EPOCH = date(2000, 1, 1)


class TrytonRecords:
    """Parties, products and employees, each found by its unique code before any create.

    Every ``ensure_*`` returns the Tryton id and is safe to call again: an existing record
    is returned unchanged (updates are the gateway's job, with ``_timestamp``). If a create
    loses a race to a duplicate-code error, the winner is looked up and returned.

    Args:
        client: A logged-in (or lazily logging-in) Tryton client.
    """

    def __init__(self, client: TrytonClient) -> None:
        self.client = client

    def _one(self, model: str, domain: list[Any], what: str) -> int | None:
        ids = self.client.search(model, domain, limit=2)
        if len(ids) > 1:
            raise DataError(
                f"Two Tryton records match {what}; the hub cannot tell which one is meant.",
                code="tryton.duplicate_key",
                detail={"model": model, "ids": ids},
            )
        return ids[0] if ids else None

    def _create_once(self, model: str, values: dict[str, Any], domain: list[Any], what: str) -> int:
        try:
            return self.client.create(model, [values])[0]
        except DataError:
            # A concurrent writer may have created the same code first: take its record.
            found = self._one(model, domain, what)
            if found is None:
                raise
            return found

    def ensure_country(self, code: str) -> int:
        """Return the ``country.country`` id for an ISO 3166-1 alpha-2 code, creating it.

        Raises:
            DataError: if ``code`` is not an ISO country code.
        """
        domain: list[Any] = [("code", "=", code.upper())]
        found = self._one("country.country", domain, f"country {code}")
        if found is not None:
            return found
        country = pycountry.countries.get(alpha_2=code.upper())
        if country is None:
            raise DataError(f"{code!r} is not an ISO 3166-1 country code.", code="data.country")
        values = {"code": country.alpha_2, "code3": country.alpha_3, "name": country.name}
        return self._create_once("country.country", values, domain, f"country {code}")

    def ensure_party(
        self,
        code: str,
        name: str,
        tax_identifiers: Sequence[TaxIdentifier] = (),
        country: str | None = None,
    ) -> int:
        """Return the id of the party with ``code``, creating it with its identifiers.

        A new party gets one (invoice) address in ``country``, because Tryton cannot
        invoice a party without an address.

        Raises:
            DataError: if Tryton refuses a value (for example a tax number it finds invalid).
        """
        domain: list[Any] = [("code", "=", code), _ANY_ACTIVE]
        found = self._one("party.party", domain, f"party code {code}")
        if found is not None:
            return found
        address: dict[str, Any] = {"invoice": True}
        if country:
            address["country"] = self.ensure_country(country)
        identifiers = [{"type": identifier_type(t), "code": t.value} for t in tax_identifiers]
        values: dict[str, Any] = {
            "code": code,
            "name": name,
            "addresses": [["create", [address]]],
        }
        if identifiers:
            values["identifiers"] = [["create", identifiers]]
        return self._create_once("party.party", values, domain, f"party code {code}")

    def _services_category(self) -> int:
        ids = self.client.search(
            "product.category", [("name", "=", SERVICES_CATEGORY), ("accounting", "=", True)]
        )
        if not ids:
            raise ConfigError(
                "The Tryton database has no services product category.",
                code="tryton.not_provisioned",
                remediation="Provision the database with `contractsync erp tryton init`.",
            )
        return ids[0]

    def ensure_product(
        self, code: str, name: str, uom: str = "u", list_price: Decimal = Decimal(0)
    ) -> int:
        """Return the id of the service product with ``code``, creating it.

        Args:
            code: Unique product code.
            name: Product name.
            uom: Unit of measure symbol: ``u`` (unit, for fixed fees), ``h`` (hour), ``d`` (day).
            list_price: Default price per unit.

        Raises:
            DataError: if the unit of measure does not exist.
        """
        domain: list[Any] = [("code", "=", code), _ANY_ACTIVE]
        found = self._one("product.product", domain, f"product code {code}")
        if found is not None:
            return found
        uoms = self.client.search("product.uom", [("symbol", "=", uom)], limit=1)
        if not uoms:
            raise DataError(f"Tryton has no unit of measure {uom!r}.", code="tryton.unknown_uom")
        template = {
            "name": name,
            "code": code,
            "type": "service",
            "default_uom": uoms[0],
            "list_price": list_price,
            "account_category": self._services_category(),
            "products": [["create", [{"suffix_code": ""}]]],
        }
        self._create_once("product.template", template, domain, f"product code {code}")
        found = self._one("product.product", domain, f"product code {code}")
        assert found is not None  # the template create made the variant
        return found

    def ensure_employee(self, code: str, name: str, cost_price: Decimal = Decimal(0)) -> int:
        """Return the id of the company's employee whose party has ``code``, creating both.

        ``cost_price`` per hour (from 2000-01-01) feeds the project cost of timesheets.
        """
        party = self.ensure_party(code, name)
        company = self.client.company_id
        domain: list[Any] = [("party", "=", party), ("company", "=", company), _ANY_ACTIVE]
        found = self._one("company.employee", domain, f"employee {code}")
        if found is not None:
            return found
        values = {
            "party": party,
            "company": company,
            "cost_prices": [["create", [{"date": _EPOCH, "cost_price": cost_price}]]],
        }
        return self._create_once("company.employee", values, domain, f"employee {code}")
