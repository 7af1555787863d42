"""PostgreSQL 15: a primary and streaming standbys.

Modules:

* ``system`` - ``PostgresSystem``: launch (initdb / pg_basebackup, run as the postgres user), stages,
  readiness, roles, the per-workload replication settings.
* ``options`` - the ``postgres:`` block of a workload (synchronous_commit, synchronous standbys).
* ``client`` - ``PostgresClient`` on psycopg 3 (imported on its own).
* ``plugin`` - the registry entry: levels and their classes, how to build system and client.
"""
from harness.systems.postgres.system import PostgresConfig, PostgresSystem, find_postgres

__all__ = ["PostgresConfig", "PostgresSystem", "find_postgres"]
