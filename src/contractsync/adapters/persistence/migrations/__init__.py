"""Alembic migrations of the hub database (run through ``contractsync db upgrade``)."""
