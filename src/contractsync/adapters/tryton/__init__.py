"""Tryton 8.2 as the real ERP: ``TrytonFinancialSystem`` over JSON-RPC, provisioning and a local server.

The package has the vendor layout (``config``, ``client``, ``payloads``, ``mapping``,
``gateway``) but no ``webhooks`` module: Tryton sends no webhooks, the hub reads it back
with ``snapshot`` instead. ``contract_projects`` and ``invoicing`` hold the gateway's
project and invoice logic, ``resilience`` its retry and lost-reply handling, ``records``
and ``projects`` the idempotent helpers, ``errors`` the error translation, and
``provisioning``, ``company_setup``, ``site``, ``server`` and ``postgres`` the local ERP.
"""
