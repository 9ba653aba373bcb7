"""Which tax treatments a contract may carry, from our legal entity and the customer.

The rules cover professional services (consulting, implementation, support) sold by one of
our legal entities, and are deliberately simplified:

- VAT areas. Each EU member state (``stdnum.eu.vat.MEMBER_STATES``) is its own VAT country
  inside the EU area; Greece is ``GR`` although its VAT prefix is ``EL``. Northern Ireland
  (``XI`` prefix) follows EU VAT rules for goods only, so for services it is part of ``GB``.
  GB, CH, NO, AU, NZ, IN, SG, JP and CA are single VAT/GST countries. Liechtenstein belongs
  to the Swiss VAT area, Monaco to the French one and the Isle of Man to the British one.
  Special territories (Canary Islands, Åland, Mount Athos ...) and Canadian provincial
  taxes (PST, QST) are not modelled.
- Same VAT country: domestic VAT/GST, business or consumer alike.
- EU seller, business buyer in another member state holding a VAT number of that state:
  reverse charge (Art. 44 and 196 of Directive 2006/112/EC). A business buyer without that
  number cannot prove its status and is treated as a consumer.
- EU seller, consumer in another member state: destination VAT through the OSS, which is
  recommended; the seller's own VAT (recorded as domestic VAT) is also permitted because
  most professional services to consumers are taxed where the supplier is established
  (Art. 45) while the EU-wide 10,000 EUR threshold is not crossed.
- Services to a buyer outside the seller's VAT area, consumer or business: outside the
  scope of the seller's VAT (Art. 44 and 59 for EU sellers; the same "export of services"
  rule for the other VAT countries). The buyer's own import rules are its affair.
- US seller, US buyer: sales tax follows the buyer's state (destination sourcing, and nexus
  there is assumed). Professional services are exempt except in the states of
  :data:`US_STATES_TAXING_SERVICES`; without the buyer's state both treatments stay
  permitted and none is recommended. US seller, non-US buyer: export, outside the scope.
- Any other seller country: no treatment is known, so none is permitted; finance decides.
"""

from __future__ import annotations

from stdnum.eu.vat import MEMBER_STATES

from contractsync.domain.customer import Customer, LegalEntity
from contractsync.domain.tax import TaxTreatment
from contractsync.errors import DataError

T = TaxTreatment

EU_MEMBER_STATES: frozenset[str] = frozenset(
    {"EL": "GR"}.get(code.upper(), code.upper()) for code in MEMBER_STATES if code != "xi"
)
"""ISO codes of the EU member states (Greece as ``GR``; Northern Ireland is not one)."""

SINGLE_VAT_COUNTRIES: frozenset[str] = frozenset(
    {"GB", "CH", "NO", "AU", "NZ", "IN", "SG", "JP", "CA"}
)
"""Countries outside the EU that levy a national VAT or GST on services."""

US_STATES_TAXING_SERVICES: frozenset[str] = frozenset({"US-HI", "US-NM", "US-SD", "US-WV"})
"""States whose sales or gross-receipts tax reaches professional services.

Hawaii (general excise tax), New Mexico (gross receipts tax), South Dakota and West Virginia
tax most services; the other states exempt consulting and implementation work. States that
tax only narrow service kinds (Texas data processing, Connecticut computer services ...) are
not listed: check them with your tax adviser and use ``us_sales_tax`` explicitly.
"""

# Territories that share a neighbour's VAT area; mapping them first keeps every rule simple.
_VAT_AREA_OF: dict[str, str] = {"LI": "CH", "MC": "FR", "IM": "GB"}


def vat_country(country: str) -> str:
    """Return the country whose VAT or GST applies in ``country`` (``LI`` -> ``CH``)."""
    return _VAT_AREA_OF.get(country, country)


def _is_vat_country(country: str) -> bool:
    return country in EU_MEMBER_STATES or country in SINGLE_VAT_COUNTRIES


def permitted_treatments(seller: LegalEntity, buyer: Customer) -> frozenset[TaxTreatment]:
    """Return every tax treatment a contract between ``seller`` and ``buyer`` may carry.

    The set is empty when contractsync has no rules for the seller's country; it holds both
    US treatments when a US buyer's state (``billing_region``) is unknown. See the module
    docstring for the simplifications made.
    """
    sold_from = vat_country(seller.country)
    sold_to = vat_country(buyer.billing_country)
    if sold_from == "US":
        return _us_treatments(buyer, sold_to)
    if not _is_vat_country(sold_from):
        return frozenset()
    if sold_from == sold_to:
        return frozenset({T.DOMESTIC_VAT})
    if sold_from in EU_MEMBER_STATES and sold_to in EU_MEMBER_STATES:
        if buyer.is_business and buyer.vat_registration_in(sold_to) is not None:
            return frozenset({T.EU_REVERSE_CHARGE})
        return frozenset({T.EU_B2C_DESTINATION_VAT, T.DOMESTIC_VAT})
    return frozenset({T.EXPORT_OUTSIDE_SCOPE})


def _us_treatments(buyer: Customer, sold_to: str) -> frozenset[TaxTreatment]:
    if sold_to != "US":
        return frozenset({T.EXPORT_OUTSIDE_SCOPE})
    if buyer.billing_region is None:
        return frozenset({T.US_SALES_TAX, T.US_SALES_TAX_EXEMPT_SERVICES})
    if buyer.billing_region in US_STATES_TAXING_SERVICES:
        return frozenset({T.US_SALES_TAX})
    return frozenset({T.US_SALES_TAX_EXEMPT_SERVICES})


def recommended_treatment(seller: LegalEntity, buyer: Customer) -> TaxTreatment:
    """Return the tax treatment a new contract between ``seller`` and ``buyer`` should carry.

    It is always one of :func:`permitted_treatments`; where several are permitted, the one
    the tax rules name first (destination VAT for an EU consumer) is recommended.

    Raises:
        DataError: if the treatment cannot be decided: a US buyer without ``billing_region``
            (code ``tax.region_required``), or a seller country contractsync has no tax
            rules for (code ``tax.jurisdiction_unsupported``).
    """
    permitted = permitted_treatments(seller, buyer)
    if len(permitted) == 1:
        return next(iter(permitted))
    if T.EU_B2C_DESTINATION_VAT in permitted:
        return T.EU_B2C_DESTINATION_VAT
    if permitted:
        raise DataError(
            f"customer {buyer.id} has no billing_region, so the US sales tax treatment "
            f"of services sold by {seller.code} cannot be decided",
            code="tax.region_required",
            remediation="Set the customer's billing state (billing_region, e.g. US-CA).",
            detail={"customer": buyer.id, "legal_entity": seller.code},
        )
    raise DataError(
        f"contractsync has no tax rules for legal entity {seller.code} in {seller.country}",
        code="tax.jurisdiction_unsupported",
        remediation="Set the contract's tax treatment by hand after checking with finance.",
        detail={"legal_entity": seller.code, "country": seller.country},
    )
