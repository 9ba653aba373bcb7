"""Tryton calls under the hub's retry policy, with writes settled by lookup when a reply is lost."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from contractsync.adapters.http import RetryPolicy, resolve_ambiguous

T = TypeVar("T")


@dataclass(frozen=True)
class SafeCalls:
    """How the Tryton gateway runs every call.

    A read is retried on ``TransientError`` by ``retry``. A write is retried the same way
    (a transient error means Tryton never ran it or rolled it back), and when its reply is
    lost (``AmbiguousCommitError``) ``lookup`` decides whether it landed before any second
    write (``resolve_ambiguous``).

    Attributes:
        retry: Backoff for transient errors.
        sleep: Waits between retries; inject a no-op in tests.
    """

    retry: RetryPolicy = field(default_factory=RetryPolicy)
    sleep: Callable[[float], None] = time.sleep

    def read(self, call: Callable[[], T]) -> T:
        """Run a call that changes nothing, retrying transient errors.

        Raises:
            TransientError: the last attempt still failed transiently.
        """
        return self.retry.run(call, sleep=self.sleep)

    def write(self, call: Callable[[], T], lookup: Callable[[], T | None]) -> T:
        """Run a write; after a lost reply, return what ``lookup`` finds before writing again.

        Args:
            call: Sends the write and returns the record's id (or value).
            lookup: Returns the record if the write landed, else ``None``.

        Raises:
            AmbiguousCommitError: still unknown after two lost replies, or the lookup failed.
            TransientError: the write or lookup kept failing transiently.
        """
        return resolve_ambiguous(lambda: self.read(call), lambda: self.read(lookup))
