"""Turn a freshly initialised Tryton database into a ready company with books, over JSON-RPC."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import pycountry

from contractsync.adapters.tryton.client import TrytonClient
from contractsync.adapters.tryton.mapping import SERVICES_CATEGORY
from contractsync.adapters.tryton.records import TrytonRecords
from contractsync.domain.codes import minor_units
from contractsync.domain.customer import LegalEntity

COMPANY_PARTY_CODE = "contractsync-company"
"""Party code of the company's own party (our legal entity)."""


@dataclass(frozen=True)
class CompanyProfile:
    """The legal entity a provisioned Tryton database books for."""

    name: str = "Contractsync Demo Services Ltd"
    currency: str = "EUR"
    country: str = "DE"
    timezone: str = "UTC"

    @classmethod
    def from_legal_entity(cls, entity: LegalEntity, timezone: str = "UTC") -> CompanyProfile:
        """Return the profile of one of our canonical legal entities."""
        return cls(entity.name, entity.functional_currency, entity.country, timezone)

    def fingerprint(self) -> str:
        """Return a short stable hash of the profile (part of the template cache key)."""
        return hashlib.sha256(repr(sorted(asdict(self).items())).encode()).hexdigest()[:12]


def _ensure_currency(client: TrytonClient, code: str) -> int:
    found = client.search("currency.currency", [("code", "=", code)], limit=1)
    if found:
        return found[0]
    iso = pycountry.currencies.get(alpha_3=code)
    digits = minor_units(code)
    values = {
        "code": code,
        "name": iso.name if iso else code,
        "numeric_code": iso.numeric if iso else None,
        "symbol": code,
        "digits": digits,
        "rounding": Decimal(1).scaleb(-digits),
        # One rate of 1 makes it the reference currency; conversions are not the ERP's job here.
        "rates": [["create", [{"date": date(2000, 1, 1), "rate": Decimal(1)}]]],
    }
    return client.create("currency.currency", [values])[0]


def _first_account(client: TrytonClient, company: int, *flags: str) -> int:
    domain: list[Any] = [("company", "=", company), ("closed", "!=", True)]
    domain += [(flag, "=", True) for flag in flags]
    return client.search("account.account", domain, limit=1, order=[("code", "ASC")])[0]


def _create_chart(client: TrytonClient, company: int) -> dict[str, int]:
    template = client.xml_id("account", "account_template_root_en")
    client.run_wizard(
        "account.create_chart",
        [("create_account", {"account": {"account_template": template, "company": company}})],
    )
    accounts = {
        "account_receivable": _first_account(client, company, "type.receivable", "party_required"),
        "account_payable": _first_account(client, company, "type.payable", "party_required"),
        "category_account_revenue": _first_account(client, company, "type.revenue"),
        "category_account_expense": _first_account(client, company, "type.expense"),
    }
    # The default-accounts step needs the ids created above, hence a second wizard session.
    client.run_wizard(
        "account.create_chart",
        [("create_properties", {"properties": {"company": company, **accounts}})],
    )
    return accounts


def _create_fiscal_year(client: TrytonClient, company: int, year: int) -> int:
    move_type = client.xml_id("account", "sequence_type_account_move")
    invoice_type = client.xml_id("account_invoice", "sequence_type_account_invoice")
    move_seq, invoice_seq = client.create(
        "ir.sequence.strict",
        [
            {"name": f"Moves {year}", "sequence_type": move_type, "company": company},
            {
                "name": f"Invoices {year}",
                "sequence_type": invoice_type,
                "company": company,
                "prefix": f"INV{year}-",
            },
        ],
    )
    sequences = {
        "company": company,
        "in_invoice_sequence": invoice_seq,
        "in_credit_note_sequence": invoice_seq,
        "out_invoice_sequence": invoice_seq,
        "out_credit_note_sequence": invoice_seq,
    }
    fiscal_year = client.create(
        "account.fiscalyear",
        [
            {
                "name": str(year),
                "company": company,
                "start_date": date(year, 1, 1),
                "end_date": date(year, 12, 31),
                "move_sequence": move_seq,
                "invoice_sequences": [["create", [sequences]]],
            }
        ],
    )[0]
    client.execute("account.fiscalyear", "create_period", [fiscal_year])
    return fiscal_year


def set_up_company(
    client: TrytonClient,
    profile: CompanyProfile,
    *,
    today: date,
    on_step: Callable[[str], None] = lambda _step: None,
) -> int:
    """Create the company and everything invoicing and timesheets need; return its id.

    Creates the currency, the company (party + currency) and makes it the user's company,
    then the minimal English chart of accounts with default receivable, payable, revenue
    and expense accounts, fiscal years for ``today``'s year and the next with monthly
    periods and strict move and invoice sequences, a "Net 30" default payment term, and
    the accounting product category the hub's service products use.

    Args:
        client: A client logged in as the admin of a database with the modules activated.
        profile: The legal entity to book for.
        today: Fixes the fiscal years (a parameter so tests and caches are deterministic).
        on_step: Called with a short description before each step.
    """
    records = TrytonRecords(client)
    on_step("company")
    currency = _ensure_currency(client, profile.currency)
    party = records.ensure_party(COMPANY_PARTY_CODE, profile.name, country=profile.country)
    company = client.create(
        "company.company", [{"party": party, "currency": currency, "timezone": profile.timezone}]
    )[0]
    client.write(
        "res.user", [client.user_id], {"companies": [["add", [company]]], "company": company}
    )
    client.refresh_context()
    on_step("chart of accounts")
    accounts = _create_chart(client, company)
    on_step("fiscal years")
    for year in (today.year, today.year + 1):
        _create_fiscal_year(client, company, year)
    on_step("defaults")
    term = client.create(
        "account.invoice.payment_term",
        [
            {
                "name": "Net 30",
                "lines": [
                    [
                        "create",
                        [{"type": "remainder", "relativedeltas": [["create", [{"days": 30}]]]}],
                    ]
                ],
            }
        ],
    )[0]
    client.write("account.configuration", [1], {"default_customer_payment_term": term})
    client.create(
        "product.category",
        [
            {
                "name": SERVICES_CATEGORY,
                "accounting": True,
                "account_revenue": accounts["category_account_revenue"],
                "account_expense": accounts["category_account_expense"],
            }
        ],
    )
    return company
