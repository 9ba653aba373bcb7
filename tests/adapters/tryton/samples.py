"""Canonical records unique per tag, and gateway settings that retry without waiting."""

from __future__ import annotations

from datetime import date

from contractsync.adapters.tryton.company_setup import COMPANY_PARTY_CODE
from contractsync.adapters.tryton.config import TrytonSettings
from contractsync.domain.contract import Contract
from contractsync.domain.contract_line import ContractLine, FixedFee, TimeAndMaterials
from contractsync.domain.customer import Customer, LegalEntity
from contractsync.domain.milestone import BillingMilestone
from contractsync.domain.money import Money
from contractsync.domain.periods import Term
from contractsync.domain.project import Project
from contractsync.domain.rate_card import Rate, RateCard
from contractsync.domain.tax import TaxIdentifier


class Samples:
    """Canonical records for the gateway tests, unique per tag."""

    entity = LegalEntity(
        code="LE-DE",
        name="Contractsync Demo Services Ltd",
        country="DE",
        functional_currency="EUR",
        erp_company=COMPANY_PARTY_CODE,
    )

    @staticmethod
    def eur(amount: str) -> Money:
        return Money.of(amount, "EUR")

    @staticmethod
    def customer(tag: str, name: str = "Globex GmbH") -> Customer:
        vat = TaxIdentifier(scheme="eu_vat", value="DE136695976")
        return Customer(
            id=f"CUST-{tag}", legal_name=f"{name} {tag}", billing_country="DE", tax_ids=(vat,)
        )

    @classmethod
    def contract(cls, tag: str, *, with_tm: bool = True) -> Contract:
        eur = cls.eur
        milestones = (
            BillingMilestone(id="M1", name="Kick-off", amount=eur("5000"), trigger="signed"),
            BillingMilestone(
                id="M2", name="Go-live", amount=eur("15000"), due_date=date(2026, 6, 30)
            ),
        )
        lines = [
            ContractLine(
                id="L1",
                description="Implementation",
                service_code="IMPL",
                billing=FixedFee(amount=eur("20000"), milestones=milestones),
            )
        ]
        cards: tuple[RateCard, ...] = ()
        if with_tm:
            lines.append(
                ContractLine(
                    id="L2",
                    description="Support",
                    service_code="SUPPORT",
                    billing=TimeAndMaterials(rate_card_id="RC1"),
                )
            )
            rates = (
                Rate(role="Consultant", hourly=eur("120"), effective_from=date(2026, 1, 1)),
                Rate(role="Architect", hourly=eur("180"), effective_from=date(2026, 1, 1)),
            )
            cards = (RateCard(id="RC1", currency="EUR", rates=rates),)
        return Contract(
            id=f"K-{tag}",
            title=f"SOW {tag}",
            customer_id=f"CUST-{tag}",
            legal_entity_code="LE-DE",
            currency="EUR",
            term=Term(start=date(2026, 1, 1), end=date(2026, 12, 31)),
            lines=tuple(lines),
            rate_cards=cards,
        )

    @staticmethod
    def project(tag: str) -> Project:
        return Project(
            id=f"P-{tag}", contract_id=f"K-{tag}", customer_id=f"CUST-{tag}", name=f"Delivery {tag}"
        )


def gateway_settings(settings: TrytonSettings) -> TrytonSettings:
    """Settings whose retries do not wait: the tests inject a no-op sleep as well."""
    return settings.model_copy(
        update={"retry_attempts": 6, "retry_base_seconds": 0.001, "retry_cap_seconds": 0.01}
    )
