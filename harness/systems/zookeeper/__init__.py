"""Apache ZooKeeper 3.9 as a system under test.

Modules:

* ``distribution`` - the jars fetched from Maven Central (``.cache/zookeeper/<version>/lib``)
  and their exact release.
* ``config`` - ``ZooKeeperConfig`` and the per-node ``zoo.cfg`` / ``myid`` / ``logback.xml``.
* ``fourlw`` - the four-letter words (``ruok``, ``srvr``, ``mntr``) and their pure parsers.
* ``system`` - ``ZooKeeperSystem``: launch argv, readiness, leader, member status, ``mntr`` metrics.
* ``metrics`` - what one workload did to ZooKeeper's own counters and latency figures.
* ``client`` - ``ZooKeeperClient`` on kazoo, pinned to one server (imported on its own).
* ``plugin`` - the registry's entry: levels and their classes, how to build system and client.
"""
