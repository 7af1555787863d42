"""Fault injection (the nemesis), one concept per module:

- ``core``: the ``Nemesis`` protocol (setup / invoke / teardown), ``FaultRecord`` (becomes a
  history ``Op`` with process ``"nemesis"``), ``NemesisContext``, ``NoopNemesis``, ``compose``.
- ``shapes``: pure partition shapes -> directed links to cut (halves, majority-minority,
  leader-in-minority, isolate-leader/node, bridge, ring, explicit groups).
- ``rules``: ledgered, tagged iptables rules inside node namespaces.
- ``probe``: TCP connect probes from inside a namespace (verification).
- ``partition``: ``partition`` / ``heal``.
- ``link``: ``loss`` (iptables statistic) / ``latency`` (netem, when the kernel has it) / ``heal-link``.
- ``process``: ``kill`` / ``restart`` / ``pause`` / ``resume``.
- ``client_links``: ``client-latency`` / ``client-down`` / ``client-reset`` / ``heal-client``
  (Toxiproxy between the load's clients and the nodes; ``toxiproxy`` is its REST client).

    nem = standard_nemesis()
    nem.setup(NemesisContext(cluster, run_id, time_origin_ns, rng=random.Random(seed)))
    rec = nem.invoke("partition", {"shape": "leader-in-minority"})   # FaultRecord
    nem.teardown()                                                   # heals, resumes, restarts
"""
from __future__ import annotations

from harness.nemesis.core import (ComposedNemesis, FaultRecord, Nemesis, NemesisContext, NoopNemesis,
                                  compose)


def standard_nemesis(system: str | None = None) -> ComposedNemesis:
    """Every fault this package knows, composed (partition, link, process faults + noop), and
    ``system``'s own faults when its plugin has some (``harness.api.OwnFaults``), composed
    first: teardown runs in reverse, so network and processes are repaired before them."""
    from harness.api import OwnFaults
    from harness.nemesis.client_links import ClientLinkNemesis
    from harness.nemesis.link import LinkNemesis
    from harness.nemesis.partition import PartitionNemesis
    from harness.nemesis.process import ProcessNemesis
    from harness.registry import system_plugin

    plugin = system_plugin(system) if system is not None else None
    own = [plugin.nemesis()] if isinstance(plugin, OwnFaults) else []
    return compose([*own, ProcessNemesis(), PartitionNemesis(), LinkNemesis(), ClientLinkNemesis(),
                    NoopNemesis(("noop",))])


__all__ = ["ComposedNemesis", "FaultRecord", "Nemesis", "NemesisContext", "NoopNemesis", "compose",
           "standard_nemesis"]
