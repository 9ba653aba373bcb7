"""Canonical records and adapter settings for the Kantata tests, unique per key."""

from __future__ import annotations

from datetime import date
from typing import Any

from contractsync.adapters.kantata import KantataSettings
from contractsync.domain.contract import Contract
from contractsync.domain.contract_line import ContractLine, FixedFee
from contractsync.domain.milestone import BillingMilestone
from contractsync.domain.money import Money
from contractsync.domain.periods import Term
from contractsync.domain.project import Project

BASE_URL = "https://kantata.simulator.invalid"
RATE_LIMIT_WAIT = 4.0


def settings(**overrides: Any) -> KantataSettings:
    values: dict[str, Any] = {
        "base_url": BASE_URL,
        "token": "sim-token",
        "rate_limit_wait_seconds": RATE_LIMIT_WAIT,
        "retry_base_seconds": 0.001,
        "integration_user_id": 1,
        "timeout_seconds": 2.0,
        "connect_timeout_seconds": 0.5,
    }
    return KantataSettings.model_validate(values | overrides)


def contract(key: str, *, milestones: int = 2) -> Contract:
    eur = lambda amount: Money.of(amount, "EUR")  # noqa: E731
    rows = tuple(
        BillingMilestone(
            id=f"M{n}",
            name=f"Milestone {n}",
            amount=eur("1000"),
            due_date=date(2026, 1 + n % 12, 28),
        )
        for n in range(1, milestones + 1)
    )
    return Contract(
        id=f"K-{key}",
        title=f"SOW {key}",
        customer_id=f"CUST-{key}",
        legal_entity_code="LE-DE",
        currency="EUR",
        term=Term(start=date(2026, 1, 1), end=date(2026, 12, 31)),
        lines=(
            ContractLine(
                id="L1",
                description="Implementation",
                service_code="IMPL",
                billing=FixedFee(amount=eur(str(1000 * milestones)), milestones=rows),
            ),
        ),
    )


def project(key: str) -> Project:
    return Project(
        id=key, contract_id=f"K-{key}", customer_id=f"CUST-{key}", name=f"Delivery {key}"
    )
