"""Tryton 8.2 as the real ERP: provisioning, a local server and an idempotent JSON-RPC client."""
