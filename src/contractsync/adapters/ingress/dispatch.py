"""The dispatcher used while no workflow engine is wired: messages wait in the inbox."""

from __future__ import annotations

from contractsync.errors import TransientError
from contractsync.ports.storage import InboxMessage


class PendingDispatcher:
    """A ``WorkflowDispatcher`` that starts nothing: every accepted message stays RECEIVED.

    The ingress still stores and acknowledges; the dispatch sweep retries each waiting message
    and starts it once the engine's dispatcher replaces this one in ``bootstrap``.
    """

    def dispatch(self, message: InboxMessage) -> str:
        """Refuse to start anything.

        Raises:
            TransientError: ``ingress.engine_not_wired``, always.
        """
        raise TransientError(
            f"no workflow engine is wired to start inbox message {message.id}",
            code="ingress.engine_not_wired",
            remediation="Wire the engine's dispatcher in bootstrap.build_dispatcher; the "
            "dispatch sweep then starts every waiting message.",
        )


__all__ = ["PendingDispatcher"]
