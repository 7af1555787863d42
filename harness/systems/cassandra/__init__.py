"""Apache Cassandra 5.0 as a system under test.

Modules:

* ``distribution`` - where the jars (Maven Central copy in ``.cache/cassandra/<version>/lib``,
  or ``$CASSANDRA_HOME``) and Java 17 come from, and their exact versions.
* ``jvm_options`` - the JVM options Cassandra 5.0 ships for Java 17, as data, with sources.
* ``config`` - ``CassandraConfig`` and the per-node ``cassandra.yaml`` / ``logback.xml``.
* ``system`` - ``CassandraSystem``, the ``harness.api.System`` (launch argv, readiness).
* ``client`` - ``CassandraClient`` on cassandra-driver (imported on its own: it needs the driver).

Example::

    from harness.systems.cassandra import CassandraConfig, CassandraSystem
    system = CassandraSystem.from_environment(CassandraConfig(heap="1G"))
    cluster = provider.start(system, 3, run_dir)
"""
from harness.systems.cassandra.config import CassandraConfig
from harness.systems.cassandra.distribution import (CassandraDistribution, JavaRuntime, fetch_cassandra,
                                                    find_cassandra, find_java)
from harness.systems.cassandra.system import CassandraSystem

__all__ = ["CassandraConfig", "CassandraDistribution", "CassandraSystem", "JavaRuntime", "fetch_cassandra",
           "find_cassandra", "find_java"]
