"""Ironclad as the CLM: OAuth2 client credentials, workflows read by id and by page, thin webhooks.

``IroncladContractSource`` (``gateway.py``) implements the ``ContractSource`` port;
``webhooks.py`` reads the workflow events. Vendor field names never leave this package.
"""

from contractsync.adapters.ironclad.config import IroncladSettings
from contractsync.adapters.ironclad.gateway import IroncladContractSource

__all__ = ["IroncladContractSource", "IroncladSettings"]
