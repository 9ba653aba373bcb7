"""What the flow tests are made of: tagged contracts and customers, keys, and the hub's settings."""

from __future__ import annotations

import base64
import uuid
from datetime import date
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from contractsync.config import Settings
from contractsync.domain.contract import Contract
from contractsync.domain.contract_line import ContractLine, FixedFee
from contractsync.domain.customer import Customer
from contractsync.domain.milestone import BillingMilestone
from contractsync.domain.money import Money
from contractsync.domain.periods import Term
from contractsync.services.contract_flow import ReferenceData
from tests.adapters.tryton.samples import Samples

HUB = "http://hub.test"
SF_SECRET = "whsec_" + base64.b64encode(bytes(range(40, 72))).decode()
SF_SECRET_VARIABLE = "FLOW_SALESFORCE_SECRET"
CONNECT_KEY = "flow-connect-hmac-key-" + "c" * 24
CONNECT_KEY_VARIABLE = "FLOW_CONNECT_KEY"
ENTITY = Samples.entity
REFERENCE = ReferenceData(legal_entities=(ENTITY,), service_codes=frozenset({"IMPL", "SUPPORT"}))
_IRONCLAD_KEY: list[rsa.RSAPrivateKey] = []
_DOCUSIGN_KEY: list[rsa.RSAPrivateKey] = []


def eur(amount: str) -> Money:
    """Euros: the currency of the Tryton company."""
    return Money.of(amount, "EUR")


def new_tag() -> str:
    """A suffix unique to one test, so tests sharing Tryton never see each other's records."""
    return uuid.uuid4().hex[:8].upper()


def customer(tag: str) -> Customer:
    """A German business customer with a valid VAT id."""
    return Samples.customer(tag)


def contract(
    tag: str,
    *,
    version: int = 1,
    amounts: tuple[str, ...] = ("5000", "15000"),
    end: date = date(2026, 12, 31),
    acceptance: bool = False,
    tax_treatment: str | None = "domestic_vat",
) -> Contract:
    """A fixed-fee SOW with one milestone per amount (``M1``, ``M2`` ...)."""
    milestones = tuple(
        BillingMilestone(
            id=f"M{n}",
            name=f"Milestone {n}",
            amount=eur(amount),
            due_date=date(2026, 2 + 3 * n, 28),
            acceptance_required=acceptance and n == 1,
        )
        for n, amount in enumerate(amounts, start=1)
    )
    fee = sum((m.amount for m in milestones), eur("0"))
    return Contract.model_validate(
        {
            "id": f"K-{tag}",
            "title": f"SOW {tag}",
            "customer_id": f"CUST-{tag}",
            "legal_entity_code": ENTITY.code,
            "currency": "EUR",
            "term": Term(start=date(2026, 1, 1), end=end),
            "version": version,
            "tax_treatment": tax_treatment,
            "payment_terms_days": 45,
            "lines": (
                ContractLine(
                    id="L1",
                    description="Implementation",
                    service_code="IMPL",
                    billing=FixedFee(amount=fee, milestones=milestones),
                ),
            ),
        }
    )


def docusign_key() -> rsa.RSAPrivateKey:
    """One DocuSign integration key for every hub of the test process."""
    if not _DOCUSIGN_KEY:
        _DOCUSIGN_KEY.append(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    return _DOCUSIGN_KEY[0]


def ironclad_key() -> rsa.RSAPrivateKey:
    """One Ironclad webhook signing key for every hub of the test process."""
    if not _IRONCLAD_KEY:
        _IRONCLAD_KEY.append(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    return _IRONCLAD_KEY[0]


def hub_settings(database_url: str, folder: Path, **flows: float) -> Settings:
    """The hub's settings: the ingress sources of the simulators and short flow waits."""
    pem = folder / "ironclad.pem"
    pem.write_bytes(
        ironclad_key()
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    return Settings.model_validate(
        {
            "database": {"url": database_url},
            "engine": {"heartbeat_seconds": 0.5, "stale_after_seconds": 3.0},
            "ingress": {
                "sources": {
                    "ironclad": {"scheme": "ironclad", "secrets": [{"file": str(pem)}]},
                    "salesforce": {
                        "scheme": "standard_webhooks",
                        "secrets": [{"env": SF_SECRET_VARIABLE}],
                    },
                    "docusign": {
                        "scheme": "docusign_connect",
                        "secrets": [{"env": CONNECT_KEY_VARIABLE}],
                    },
                }
            },
            "flows": {"decision_poll_seconds": 0.5, "ordering_wait_seconds": 600.0, **flows},
        }
    )
