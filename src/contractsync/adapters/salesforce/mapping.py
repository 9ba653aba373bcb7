"""Pure mapping between the canonical model and Salesforce records (no I/O).

=========================  ===========================================================
Customer                   Account
=========================  ===========================================================
id                         <external id field> (``Canonical_Id__c``)
legal_name                 Name
billing_country            BillingCountryCode
billing_region ``US-CA``   BillingStateCode ``CA`` (the part after the country)
tax_ids                    <tax ids field>: ``scheme:value`` pairs joined by ``;``
is_business                <business field> (checkbox; absent means business)
refs                       (system, ``Account``, Id)
=========================  ===========================================================

An Account without a canonical id (created in Salesforce by hand) reads as customer
``sf-<Account Id>``; the first upsert then writes that id back by record id.
Opportunity → WonOpportunity: Id → ref, Account → customer, <contract id field> →
contract_id, Amount + CurrencyIsoCode (or the org currency) → expected_value, CloseDate →
closed_on; anything but a won opportunity is a ``DataError``.
"""

from __future__ import annotations

from pydantic import ValidationError

from contractsync.adapters.salesforce.payloads import AccountRecord, OpportunityRecord
from contractsync.domain.customer import Customer
from contractsync.domain.identity import ExternalRef
from contractsync.domain.money import Money
from contractsync.domain.tax import TaxIdentifier
from contractsync.errors import DataError
from contractsync.ports.systems import WonOpportunity

ACCOUNT = "Account"
OPPORTUNITY = "Opportunity"
UNKEYED_PREFIX = "sf-"
"""Canonical ids given to accounts that have none yet: ``sf-<Account Id>``."""


def account_from_customer(customer: Customer) -> AccountRecord:
    """The Account fields for a customer (the canonical id travels as the external id)."""
    region = customer.billing_region.split("-", 1)[1] if customer.billing_region else None
    tax_ids = ";".join(f"{t.scheme}:{t.value}" for t in customer.tax_ids) or None
    return AccountRecord(
        id=None,
        name=customer.legal_name,
        billing_country_code=customer.billing_country,
        billing_state_code=region,
        external_id=customer.id,
        tax_identifiers=tax_ids,
        is_business=customer.is_business,
    )


def _tax_ids(text: str | None, account_id: str | None) -> tuple[TaxIdentifier, ...]:
    found = []
    for entry in (text or "").split(";"):
        if not entry.strip():
            continue
        scheme, _, value = entry.strip().partition(":")
        try:
            found.append(TaxIdentifier(scheme=scheme.strip(), value=value.strip()))
        except ValidationError as exc:
            raise DataError(
                f"The tax identifier {entry.strip()!r} on Salesforce account {account_id} is not "
                "valid.",
                code="salesforce.tax_id_invalid",
                remediation="Correct the account's tax identifiers as 'scheme:value' pairs "
                "separated by ';' (for example eu_vat:DE136695976), then retry.",
                detail={"account_id": account_id, "reason": exc.errors()[0]["msg"]},
            ) from None
    return tuple(found)


def customer_from_account(account: AccountRecord, *, system: str) -> Customer:
    """The canonical customer an Account stands for.

    Raises:
        DataError: ``salesforce.account_unmappable`` naming the field (no billing country, a
            region of another country ...), or ``salesforce.tax_id_invalid``.
    """
    if not account.billing_country_code:
        raise DataError(
            f"Salesforce account {account.id} ({account.name}) has no billing country.",
            code="salesforce.account_unmappable",
            remediation="Set the account's Billing Country in Salesforce, then retry.",
            detail={"account_id": account.id, "field": "BillingCountryCode"},
        )
    region = (
        f"{account.billing_country_code}-{account.billing_state_code}"
        if account.billing_state_code
        else None
    )
    refs = (ExternalRef(system=system, kind=ACCOUNT, id=account.id),) if account.id else ()
    try:
        return Customer(
            id=account.external_id or f"{UNKEYED_PREFIX}{account.id}",
            legal_name=account.name,
            billing_country=account.billing_country_code,
            billing_region=region,
            is_business=account.is_business if account.is_business is not None else True,
            tax_ids=_tax_ids(account.tax_identifiers, account.id),
            refs=refs,
        )
    except ValidationError as exc:
        fields = [".".join(str(p) for p in e["loc"]) for e in exc.errors()]
        raise DataError(
            f"Salesforce account {account.id} ({account.name}) cannot be read as a customer: "
            f"{exc.errors()[0]['msg']}.",
            code="salesforce.account_unmappable",
            remediation="Correct the account's billing address or name in Salesforce, then retry.",
            detail={"account_id": account.id, "fields": fields},
        ) from None


def won_opportunity_from(
    opportunity: OpportunityRecord,
    account: AccountRecord,
    *,
    system: str,
    default_currency: str,
) -> WonOpportunity:
    """The closed-won opportunity, with its account as the customer to stage.

    Raises:
        DataError: ``salesforce.opportunity_not_won``, ``salesforce.opportunity_unmappable``
            or an account mapping error.
    """
    if not opportunity.is_won:
        raise DataError(
            f"Salesforce opportunity {opportunity.id} is {opportunity.stage_name!r}, not won.",
            code="salesforce.opportunity_not_won",
            remediation="Only closed-won opportunities start a contract; check the stage.",
            detail={"opportunity_id": opportunity.id, "stage": opportunity.stage_name},
        )
    if opportunity.close_date is None:
        raise DataError(
            f"Salesforce opportunity {opportunity.id} has no close date.",
            code="salesforce.opportunity_unmappable",
            remediation="Set the opportunity's Close Date in Salesforce, then retry.",
            detail={"opportunity_id": opportunity.id, "field": "CloseDate"},
        )
    value = None
    if opportunity.amount is not None:
        currency = opportunity.currency_iso_code or default_currency
        try:
            value = Money.of(opportunity.amount, currency)
        except (ValidationError, ValueError):
            raise DataError(
                f"Salesforce opportunity {opportunity.id} has an amount in {currency!r}, which "
                "is not an ISO 4217 currency.",
                code="salesforce.opportunity_unmappable",
                remediation="Correct the opportunity's currency in Salesforce, then retry.",
                detail={"opportunity_id": opportunity.id, "field": "CurrencyIsoCode"},
            ) from None
    return WonOpportunity(
        ref=ExternalRef(system=system, kind=OPPORTUNITY, id=opportunity.id),
        customer=customer_from_account(account, system=system),
        contract_id=opportunity.contract_id or None,
        expected_value=value,
        closed_on=opportunity.close_date,
    )


__all__ = [
    "ACCOUNT",
    "OPPORTUNITY",
    "UNKEYED_PREFIX",
    "account_from_customer",
    "customer_from_account",
    "won_opportunity_from",
]
