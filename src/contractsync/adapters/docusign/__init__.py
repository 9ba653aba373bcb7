"""DocuSign as the e-signature service: JWT grant, envelopes linked to contracts, Connect events.

``DocuSignSignatureSource`` (``gateway.py``) implements the ``SignatureSource`` port: an
envelope names its contract in a text custom field; the contract's terms come from the CLM.
``webhooks.py`` reads Connect JSON SIM events. Vendor field names never leave this package.
"""

from contractsync.adapters.docusign.config import DocuSignSettings
from contractsync.adapters.docusign.gateway import DocuSignSignatureSource

__all__ = ["DocuSignSettings", "DocuSignSignatureSource"]
