"""Kantata OX as the PSA: workspaces, milestone stories, external references, polled events.

``KantataProjectTracker`` (``gateway.py``) implements the ``ProjectTracker`` port over
``records.py`` (the hub's workspaces and stories, found by their external references);
``webhooks.py`` holds the event-feed cursor (Kantata has no push webhooks). Vendor field names
never leave this package.
"""

from contractsync.adapters.kantata.config import KantataSettings
from contractsync.adapters.kantata.gateway import KantataProjectTracker

__all__ = ["KantataProjectTracker", "KantataSettings"]
