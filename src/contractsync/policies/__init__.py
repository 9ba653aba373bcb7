"""The decision policies contractsync ships with, read from package data."""

from __future__ import annotations

from functools import cache
from importlib import resources

from contractsync.services.policy import Policy, parse_policy

DEFAULT_AMENDMENT_POLICY = "default_amendment_policy.yaml"
"""File name of the shipped amendment policy inside this package."""


@cache
def load_default_policy() -> Policy:
    """Return the shipped amendment policy, compiled (once per process; it never changes).

    Raises:
        ConfigError: if the shipped file is broken (a packaging bug; tests guard it).
    """
    text = resources.files(__name__).joinpath(DEFAULT_AMENDMENT_POLICY).read_text("utf-8")
    return parse_policy(text)


__all__ = ["DEFAULT_AMENDMENT_POLICY", "load_default_policy"]
