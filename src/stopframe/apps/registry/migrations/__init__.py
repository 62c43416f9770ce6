"""Alembic migrations of the registry database, shipped inside the package."""
