"""Salesforce as the CRM: OAuth2 client credentials, upsert by external id, SOQL paging.

``SalesforceCustomerDirectory`` (``gateway.py``) implements the ``CustomerDirectory`` port;
``webhooks.py`` reads the CRM's events. Vendor field names never leave this package.
"""

from contractsync.adapters.salesforce.config import SalesforceSettings
from contractsync.adapters.salesforce.gateway import SalesforceCustomerDirectory

__all__ = ["SalesforceCustomerDirectory", "SalesforceSettings"]
