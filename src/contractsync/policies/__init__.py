"""The decision policies contractsync ships with, read from package data."""

from __future__ import annotations

from functools import cache
from importlib import resources

from contractsync.services.policy import Policy, parse_policy
from contractsync.services.reconciliation_healing import RECONCILIATION_FACTS

DEFAULT_AMENDMENT_POLICY = "default_amendment_policy.yaml"
"""File name of the shipped amendment policy inside this package."""

DEFAULT_RECONCILIATION_POLICY = "default_reconciliation_policy.yaml"
"""File name of the shipped reconciliation (healing) policy inside this package."""


@cache
def load_default_policy() -> Policy:
    """Return the shipped amendment policy, compiled (once per process; it never changes).

    Raises:
        ConfigError: if the shipped file is broken (a packaging bug; tests guard it).
    """
    text = resources.files(__name__).joinpath(DEFAULT_AMENDMENT_POLICY).read_text("utf-8")
    return parse_policy(text)


@cache
def load_default_reconciliation_policy() -> Policy:
    """Return the shipped reconciliation policy, compiled over the drift item facts (once).

    Raises:
        ConfigError: if the shipped file is broken (a packaging bug; tests guard it).
    """
    text = resources.files(__name__).joinpath(DEFAULT_RECONCILIATION_POLICY).read_text("utf-8")
    return parse_policy(text, facts=RECONCILIATION_FACTS)


__all__ = [
    "DEFAULT_AMENDMENT_POLICY",
    "DEFAULT_RECONCILIATION_POLICY",
    "load_default_policy",
    "load_default_reconciliation_policy",
]
