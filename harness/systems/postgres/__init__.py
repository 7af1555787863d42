"""PostgreSQL 15: a primary and streaming standbys (issue 14; not registered yet)."""
from harness.systems.postgres.system import PostgresConfig, PostgresSystem, find_postgres

__all__ = ["PostgresConfig", "PostgresSystem", "find_postgres"]
