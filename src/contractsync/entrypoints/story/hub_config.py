"""The demo hub's settings file: what a firm would write in ``contractsync.yaml``, pointed at loopback.

Every secret goes into its own file under ``<workdir>/secrets`` (mode 0600) and the settings
refer to it with ``{file: ...}``, exactly as a production deployment would; nothing secret is
in the YAML. The reference data (our legal entity, the service catalogue) is written beside it,
matching the company the Tryton database was provisioned with.
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from contractsync.adapters.tryton.company_setup import COMPANY_PARTY_CODE
from contractsync.adapters.tryton.config import TrytonSettings

ENTITY_CODE = "LE-DE"
"""Our contracting legal entity in the demo: the German company Tryton books for."""
SERVICE_CODES = {
    "IMPL": "Implementation",
    "ADVISORY": "Advisory",
    "SUPPORT": "Support and hypercare",
}
"""The service catalogue every demo contract line uses."""
KANTATA_USER_ID = 1
"""The Kantata user the hub writes as; its own changes are not reported back."""


@dataclass(frozen=True)
class Endpoints:
    """Where each simulated vendor listens (``http://127.0.0.1:<port>``)."""

    ironclad: str
    salesforce: str
    docusign: str
    kantata: str


@dataclass(frozen=True)
class HubKeys:
    """The key material both sides of the demo share: signers in the simulators, verifiers in the hub.

    Attributes:
        ironclad_public_pem: Verifies Ironclad's RSA webhook signatures.
        docusign_private_pem: Signs the hub's DocuSign JWT grant (the simulator holds the public key).
        salesforce_secret: The Standard Webhooks secret of the Salesforce subscription.
        connect_key: The DocuSign Connect HMAC key.
        api_key: Bearer token of the demo's integration-admin API key.
        finance_key: Bearer token of the demo's finance API key (approves routed amendments).
    """

    ironclad_public_pem: bytes
    docusign_private_pem: bytes
    salesforce_secret: str = ""
    connect_key: str = ""
    api_key: str = ""
    finance_key: str = ""

    @classmethod
    def fresh(cls, ironclad_public_pem: bytes, docusign_private_pem: bytes) -> HubKeys:
        """New random shared secrets for one demo run."""
        return cls(
            ironclad_public_pem=ironclad_public_pem,
            docusign_private_pem=docusign_private_pem,
            salesforce_secret="whsec_" + base64.b64encode(secrets.token_bytes(32)).decode(),
            connect_key=secrets.token_urlsafe(32),
            api_key=secrets.token_urlsafe(32),
            finance_key=secrets.token_urlsafe(32),
        )


def write_hub_config(
    workdir: Path,
    *,
    endpoints: Endpoints,
    tryton: TrytonSettings,
    keys: HubKeys,
    docusign_user: str,
    docusign_integration: str,
) -> Path:
    """Write ``<workdir>/contractsync.yaml``, its secrets and reference data; return its path."""
    folder = workdir / "secrets"
    folder.mkdir(parents=True, exist_ok=True)

    def secret(name: str, value: str | bytes) -> dict[str, str]:
        path = folder / name
        path.write_bytes(value if isinstance(value, bytes) else value.encode())
        path.chmod(0o600)
        return {"file": str(path)}

    reference = workdir / "reference.yaml"
    reference.write_text(yaml.safe_dump(_reference()), encoding="utf-8")
    settings: dict[str, Any] = {
        "database": {"url": f"sqlite:///{workdir / 'hub.sqlite'}"},
        "engine": {"heartbeat_seconds": 1.0, "stale_after_seconds": 10.0},
        "ingress": {
            "sources": {
                "ironclad": {
                    "scheme": "ironclad",
                    "secrets": [secret("ironclad-webhook.pem", keys.ironclad_public_pem)],
                },
                "salesforce": {
                    "scheme": "standard_webhooks",
                    "secrets": [secret("salesforce-webhook", keys.salesforce_secret)],
                },
                "docusign": {
                    "scheme": "docusign_connect",
                    "secrets": [secret("docusign-connect", keys.connect_key)],
                },
            },
            "pollers": {"kantata": {"interval_seconds": 0.5, "backoff_cap_seconds": 2.0}},
        },
        "systems": {
            "ironclad": {
                "vendor": "ironclad",
                "options": {
                    "base_url": endpoints.ironclad,
                    "client_id": "sim-client",
                    "as_user_email": "integration@contractsync.example",
                    "rate_limit_wait_seconds": 0.2,
                },
                "secrets": {"client_secret": secret("ironclad-client", "sim-secret")},
            },
            "salesforce": {
                "vendor": "salesforce",
                "options": {
                    "instance_url": endpoints.salesforce,
                    "client_id": "sim-client",
                    "rate_limit_wait_seconds": 0.2,
                },
                "secrets": {"client_secret": secret("salesforce-client", "sim-secret")},
            },
            "docusign": {
                "vendor": "docusign",
                "options": {
                    "auth_url": endpoints.docusign,
                    "integration_key": docusign_integration,
                    "user_id": docusign_user,
                    "burst_wait_seconds": 0.2,
                },
                "secrets": {"private_key": secret("docusign-jwt.pem", keys.docusign_private_pem)},
            },
            "kantata": {
                "vendor": "kantata",
                "options": {
                    "base_url": endpoints.kantata,
                    "integration_user_id": KANTATA_USER_ID,
                    "rate_limit_wait_seconds": 0.2,
                    "retry_base_seconds": 0.05,
                    "read_attempts": 6,
                },
                "secrets": {"token": secret("kantata-token", "sim-token")},
            },
            "tryton": {
                "vendor": "tryton",
                "options": {
                    "url": str(tryton.url),
                    "database": tryton.database,
                    "user": tryton.user,
                    "company_id": tryton.company_id,
                    "retry_base_seconds": 0.05,
                    "retry_cap_seconds": 0.5,
                },
                "secrets": {
                    "password": secret("tryton-password", tryton.password.get_secret_value())
                },
            },
        },
        "api": {
            "keys": [
                {
                    "name": "demo-admin",
                    "role": "integration-admin",
                    "secret": secret("api-admin", keys.api_key),
                },
                {
                    "name": "demo-finance",
                    "role": "finance",
                    "secret": secret("api-finance", keys.finance_key),
                },
            ]
        },
        "flows": {
            "reference": str(reference),
            "decision_poll_seconds": 2.0,
            "ordering_wait_seconds": 600.0,
        },
    }
    path = workdir / "contractsync.yaml"
    path.write_text(yaml.safe_dump(settings, sort_keys=False), encoding="utf-8")
    return path


def _reference() -> dict[str, Any]:
    return {
        "legal_entities": [
            {
                "code": ENTITY_CODE,
                "name": "Contractsync Demo Services Ltd",
                "country": "DE",
                "functional_currency": "EUR",
                "erp_company": COMPANY_PARTY_CODE,
                "default_payment_terms_days": 30,
            }
        ],
        "services": dict(SERVICE_CODES),
    }


__all__ = [
    "ENTITY_CODE",
    "KANTATA_USER_ID",
    "SERVICE_CODES",
    "Endpoints",
    "HubKeys",
    "write_hub_config",
]
