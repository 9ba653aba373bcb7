"""Canonical records and adapter settings for the NetSuite tests, unique per tag."""

from __future__ import annotations

from datetime import date
from functools import cache
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from contractsync.adapters.netsuite import NetSuiteSettings
from contractsync.domain.contract import Contract
from contractsync.domain.contract_line import ContractLine, FixedFee, Retainer
from contractsync.domain.customer import Customer, LegalEntity
from contractsync.domain.milestone import BillingMilestone
from contractsync.domain.money import Money
from contractsync.domain.periods import Term
from contractsync.domain.project import Project
from contractsync.domain.schedules import BillingEntry, BillingSchedule
from contractsync.domain.tax import TaxIdentifier

BASE_URL = "https://netsuite.simulator.invalid"
CONCURRENCY_WAIT = 3.0


@cache
def private_key_pem() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def settings(**overrides: Any) -> NetSuiteSettings:
    values: dict[str, Any] = {
        "account_id": "1234567_SB1",
        "base_url": BASE_URL,
        "client_id": "sim-client",
        "certificate_id": "sim-certificate",
        "private_key": private_key_pem(),
        "concurrency_wait_seconds": CONCURRENCY_WAIT,
        "read_retry_base_seconds": 0.001,
        "timeout_seconds": 2.0,
        "connect_timeout_seconds": 0.5,
    }
    return NetSuiteSettings.model_validate(values | overrides)


def eur(amount: str) -> Money:
    return Money.of(amount, "EUR")


ENTITY = LegalEntity(
    code="LE-DE",
    name="Contractsync Demo Services Ltd",
    country="DE",
    functional_currency="EUR",
    erp_company="2",
)


def customer(tag: str) -> Customer:
    return Customer(
        id=f"CUST-{tag}",
        legal_name=f"Globex GmbH {tag}",
        billing_country="DE",
        billing_region="DE-BY",
        tax_ids=(TaxIdentifier(scheme="eu_vat", value="DE136695976"),),
    )


def contract(tag: str) -> Contract:
    milestones = (
        BillingMilestone(id="M1", name="Kick-off", amount=eur("5000"), trigger="signed"),
        BillingMilestone(id="M2", name="Go-live", amount=eur("15000"), due_date=date(2026, 6, 30)),
    )
    return Contract(
        id=f"K-{tag}",
        title=f"SOW {tag}",
        customer_id=f"CUST-{tag}",
        legal_entity_code="LE-DE",
        currency="EUR",
        term=Term(start=date(2026, 1, 1), end=date(2026, 12, 31)),
        lines=(
            ContractLine(
                id="L1",
                description="Implementation",
                service_code="IMPL",
                billing=FixedFee(amount=eur("20000"), milestones=milestones),
            ),
            ContractLine(
                id="L2",
                description="Advisory retainer",
                service_code="ADVISORY",
                billing=Retainer(monthly_fee=eur("1000")),
                term=Term(start=date(2026, 1, 1), end=date(2026, 2, 28)),
            ),
        ),
    )


def schedule(tag: str) -> BillingSchedule:
    def entry(
        line: str, start: date, end: date, amount: str, milestone: str | None = None
    ) -> BillingEntry:
        return BillingEntry(
            line_id=line,
            milestone_id=milestone,
            description=f"{line} {milestone or start.isoformat()}",
            period_start=start,
            period_end=end,
            invoice_date=end,
            due_date=end,
            amount=eur(amount),
        )

    return BillingSchedule(
        contract_id=f"K-{tag}",
        contract_version=1,
        currency="EUR",
        entries=(
            entry("L1", date(2026, 1, 1), date(2026, 1, 31), "5000", "M1"),
            entry("L2", date(2026, 1, 1), date(2026, 1, 31), "1000"),
            entry("L2", date(2026, 2, 1), date(2026, 2, 28), "1000"),
            entry("L1", date(2026, 6, 1), date(2026, 6, 30), "15000", "M2"),
        ),
    )


def project(tag: str) -> Project:
    return Project(
        id=f"P-{tag}", contract_id=f"K-{tag}", customer_id=f"CUST-{tag}", name=f"Delivery {tag}"
    )
