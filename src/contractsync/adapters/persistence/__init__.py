"""The hub's own database: SQLAlchemy tables, repositories, unit of work and Alembic migrations."""
