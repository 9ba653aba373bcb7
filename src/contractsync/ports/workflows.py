"""The port through which accepted work reaches the durable engine."""

from __future__ import annotations

from typing import Protocol

from contractsync.ports.storage import InboxMessage


class WorkflowDispatcher(Protocol):
    """Starts the durable workflow that processes one inbox message.

    The workflow id is derived from the message's business key (``inbox:<source>:<event_id>``),
    so dispatching the same message twice starts one workflow: the second call is a no-op
    that returns the same id. Implementations must be safe to call from any thread.
    """

    def dispatch(self, message: InboxMessage) -> str:
        """Start (or find) the workflow for ``message`` and return its workflow id."""
        ...
