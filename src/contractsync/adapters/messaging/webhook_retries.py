"""When a failed outbound webhook is tried again, and where its signing secrets come from."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from contractsync.errors import ConfigError

STANDARD_WEBHOOKS_SCHEDULE: tuple[timedelta, ...] = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=14),
    timedelta(hours=20),
    timedelta(hours=24),
)
"""Waits after attempts 1..9 (the Standard Webhooks example, about 75.6 h in all)."""


@dataclass(frozen=True, slots=True)
class RetrySchedule:
    """Backoff for outbound webhooks: a fixed growing schedule with jitter, honouring Retry-After.

    Attributes:
        delays: The wait after each failed attempt; once they are used up the delivery is dead.
        jitter: Each wait is scaled by a random factor in ``[1 - jitter, 1 + jitter]`` so that
            retries after an outage do not arrive together.
        max_retry_after: The longest ``Retry-After`` honoured (a hostile value cannot park a
            delivery for a year).
    """

    delays: tuple[timedelta, ...] = STANDARD_WEBHOOKS_SCHEDULE
    jitter: float = 0.1
    max_retry_after: timedelta = timedelta(hours=24)

    @property
    def max_attempts(self) -> int:
        """Attempts made before a delivery is marked failed: the first plus one per delay."""
        return len(self.delays) + 1

    def delay_after(
        self, attempts: int, *, retry_after: float | None, random: Callable[[], float]
    ) -> timedelta | None:
        """The wait before the next attempt, or None when the schedule is exhausted.

        Args:
            attempts: Attempts made so far, the failed one included (1 after the first).
            retry_after: Seconds the subscriber asked for (``Retry-After``), if it did.
            random: Returns a float in [0, 1); injected so tests are deterministic.

        Returns:
            The jittered scheduled wait, or the subscriber's wait when that is longer.
        """
        if attempts < 1 or attempts > len(self.delays):
            return None
        factor = 1 + self.jitter * (2 * random() - 1)
        wait = self.delays[attempts - 1] * factor
        if retry_after is not None:
            wait = max(wait, min(timedelta(seconds=retry_after), self.max_retry_after))
        return wait


SecretSource = Callable[[str], Sequence[str]]
"""Turns a subscription's ``secret_ref`` into its active ``whsec_`` secrets."""


def secrets_from_reference(secret_ref: str) -> Sequence[str]:
    """Read the secrets a ``secret_ref`` names: ``NAME`` / ``env:NAME`` or ``file:/path``.

    The value may hold several secrets separated by whitespace (old and new during a
    rotation); each signs the delivery.

    Raises:
        ConfigError: The variable is unset or empty, or the file cannot be read. The message
            names the reference, never a secret.
    """
    if secret_ref.startswith("file:"):
        path = Path(secret_ref.removeprefix("file:"))
        try:
            value = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise _missing(secret_ref, f"the file cannot be read ({exc.strerror})") from exc
    else:
        value = os.environ.get(secret_ref.removeprefix("env:"), "")
    secrets = value.split()
    if not secrets:
        raise _missing(secret_ref, "it is unset or empty")
    return secrets


def _missing(secret_ref: str, reason: str) -> ConfigError:
    return ConfigError(
        f"the webhook signing secret {secret_ref} is not available: {reason}",
        code="config.webhook_secret_missing",
        remediation=f"Provide {secret_ref} (a whsec_ secret) to every worker, then wait for the retry.",
        detail={"secret_ref": secret_ref},
    )


__all__ = [
    "STANDARD_WEBHOOKS_SCHEDULE",
    "RetrySchedule",
    "SecretSource",
    "secrets_from_reference",
]
