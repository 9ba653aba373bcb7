"""NetSuite as the ERP: SuiteTalk REST, M2M OAuth 2.0, upserts by externalId (``eid:``).

``NetSuiteFinancialSystem`` (``gateway.py``) implements the ``FinancialSystem`` port. Vendor
field names never leave this package.
"""

from contractsync.adapters.netsuite.config import NetSuiteFieldNames, NetSuiteSettings
from contractsync.adapters.netsuite.gateway import NetSuiteFinancialSystem

__all__ = ["NetSuiteFieldNames", "NetSuiteFinancialSystem", "NetSuiteSettings"]
