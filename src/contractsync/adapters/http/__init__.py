"""The one place that turns HTTP outcomes into the error tree, and the policies that act on them.

``classify_response`` maps statuses, ``map_transport_errors`` maps httpx exceptions (telling a
request never sent from a write whose response was lost), ``RetryPolicy`` retries transient
errors with full jitter honouring ``Retry-After``, ``CircuitBreaker`` pauses a failing system,
and ``resolve_ambiguous`` settles a lost write by lookup before any second write.
"""

from contractsync.adapters.http.ambiguity import resolve_ambiguous, resolve_ambiguous_async
from contractsync.adapters.http.breaker import BreakerState, CircuitBreaker
from contractsync.adapters.http.classify import classify_response, error_for, parse_retry_after
from contractsync.adapters.http.redaction import redact, safe_excerpt
from contractsync.adapters.http.retry import RetryPolicy
from contractsync.adapters.http.transport import map_transport_errors

__all__ = [
    "BreakerState",
    "CircuitBreaker",
    "RetryPolicy",
    "classify_response",
    "error_for",
    "map_transport_errors",
    "parse_retry_after",
    "redact",
    "resolve_ambiguous",
    "resolve_ambiguous_async",
    "safe_excerpt",
]
