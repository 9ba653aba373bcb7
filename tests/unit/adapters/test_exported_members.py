"""The public surface of the signature and HTTP packages is explicit and importable."""

import importlib

import pytest

MODULES = [
    "contractsync.adapters.signatures",
    "contractsync.adapters.signatures.verification",
    "contractsync.adapters.signatures.standard_webhooks",
    "contractsync.adapters.signatures.docusign_connect",
    "contractsync.adapters.signatures.ironclad",
    "contractsync.adapters.http",
    "contractsync.adapters.http.classify",
    "contractsync.adapters.http.transport",
    "contractsync.adapters.http.retry",
    "contractsync.adapters.http.breaker",
    "contractsync.adapters.http.ambiguity",
    "contractsync.adapters.http.redaction",
]


@pytest.mark.parametrize("name", MODULES)
def test_every_exported_name_exists_and_is_documented(name):
    module = importlib.import_module(name)
    assert module.__doc__
    for member in module.__all__:
        value = getattr(module, member)
        if callable(value):
            assert value.__doc__, f"{name}.{member} has no docstring"


def test_the_packages_export_the_documented_entry_points():
    signatures = importlib.import_module("contractsync.adapters.signatures")
    http = importlib.import_module("contractsync.adapters.http")
    assert {"WebhookVerifier", "VerifiedWebhook", "SignatureError"} <= set(signatures.__all__)
    assert {
        "classify_response",
        "map_transport_errors",
        "RetryPolicy",
        "CircuitBreaker",
        "resolve_ambiguous",
    } <= set(http.__all__)
