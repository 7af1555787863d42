"""iptables rules inside the nodes' own network namespaces, ledgered and tagged.

Every rule lives in one node's namespace (``NetworkControl.exec_in_node_netns``), never in
the host's chains, and carries the comment ``gbench:<run id>``. Before a rule is added it
is written to the run's crash-cleanup ledger (kind ``iptables_rule``, with the exact
``ip netns exec <ns> iptables -C/-D ...`` commands), so ``gbench cleanup`` can remove it
after a SIGKILL of the harness; deleting the namespace removes it too.

Rules only ever match peer node addresses (``-s``/``-d <peer ip>``): traffic from the
harness (the bridge's gateway address) is never matched, so clients keep talking to the
node they are pinned to on both sides of a partition.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

from harness.nemesis.shapes import Link, node_order

IPTABLES = ("iptables", "-w", "5")


@dataclass(frozen=True)
class Rule:
    """One iptables rule: the node whose namespace holds it, and its spec (chain first)."""

    node: str
    spec: tuple[str, ...]

    def describe(self) -> str:
        return f"{self.node}: {' '.join(self.spec)}"


def tag(run_id: str) -> str:
    return f"gbench:{run_id}"


def drop_rules(cut: Iterable[Link], addresses: dict[str, str], run_id: str) -> list[Rule]:
    """A full cut: for link (a, b), ``b`` drops INPUT from a's address and ``a`` drops
    OUTPUT to b's address."""
    out: list[Rule] = []
    comment = ("-m", "comment", "--comment", tag(run_id))
    for a, b in sorted(cut):
        out.append(Rule(b, ("INPUT", "-s", addresses[a], *comment, "-j", "DROP")))
        out.append(Rule(a, ("OUTPUT", "-d", addresses[b], *comment, "-j", "DROP")))
    return out


def loss_rules(cut: Iterable[Link], addresses: dict[str, str], probability: float, run_id: str) -> list[Rule]:
    """Random loss: for link (a, b), ``b`` drops each packet from ``a`` with ``probability``
    (INPUT only, so each direction loses exactly that share)."""
    p = f"{probability:.6f}"
    return [Rule(b, ("INPUT", "-s", addresses[a], "-m", "statistic", "--mode", "random", "--probability", p,
                     "-m", "comment", "--comment", tag(run_id), "-j", "DROP"))
            for a, b in sorted(cut)]


def _by_node(rules: Sequence[Rule]) -> dict[str, list[Rule]]:
    out: dict[str, list[Rule]] = {}
    for r in rules:
        out.setdefault(r.node, []).append(r)
    return {n: out[n] for n in node_order(out)}


class RuleSet:
    """Adds and removes rules through a provider's ``exec_in_node_netns``; one thread per
    node, so a whole cut takes about as long as one node's share of it."""

    def __init__(self, net: Any, ledger: Any = None, netns_of: dict[str, str] | None = None) -> None:
        self.net, self.ledger, self.netns_of = net, ledger, netns_of or {}

    def _ledger_argv(self, r: Rule, op: str) -> list[str] | None:
        ns = self.netns_of.get(r.node)
        return None if ns is None else ["ip", "netns", "exec", ns, *IPTABLES, op, *r.spec]

    def add(self, rules: Sequence[Rule]) -> tuple[list[Rule], list[str]]:
        """Insert every rule (ledgered first). Returns (rules added, errors)."""
        def per_node(rs: list[Rule]) -> tuple[list[Rule], list[str]]:
            done, errs = [], []
            for r in rs:
                if self.ledger is not None:
                    chk, dele = self._ledger_argv(r, "-C"), self._ledger_argv(r, "-D")
                    if chk is not None and dele is not None:
                        self.ledger.record("iptables_rule", delete_argv=dele, check_argv=chk, node=r.node)
                p = self.net.exec_in_node_netns(r.node, [*IPTABLES, "-I", *r.spec], check=False)
                if p.returncode == 0:
                    done.append(r)
                else:
                    errs.append(f"{r.describe()}: exit {p.returncode}: {(p.stderr or p.stdout).strip()}")
            return done, errs
        return self._parallel(rules, per_node)

    def remove(self, rules: Sequence[Rule]) -> tuple[list[Rule], list[str]]:
        """Delete exactly these rules. A rule already gone is not an error.
        Returns (rules removed, errors)."""
        def per_node(rs: list[Rule]) -> tuple[list[Rule], list[str]]:
            done, errs = [], []
            for r in rs:
                # One call per rule (each was inserted once); a failed delete only matters
                # if the rule is still there. (Cleanup from the ledger deletes duplicates too.)
                p = self.net.exec_in_node_netns(r.node, [*IPTABLES, "-D", *r.spec], check=False)
                if p.returncode != 0 and \
                        self.net.exec_in_node_netns(r.node, [*IPTABLES, "-C", *r.spec], check=False).returncode == 0:
                    errs.append(f"{r.describe()}: still present: delete exit {p.returncode}: "
                                f"{(p.stderr or p.stdout).strip()}")
                    continue
                done.append(r)
            return done, errs
        return self._parallel(rules, per_node)

    def present(self, node: str) -> list[str]:
        """The rules (``iptables -S`` lines) in ``node``'s namespace carrying any gbench tag."""
        p = self.net.exec_in_node_netns(node, [*IPTABLES, "-S"], check=False)
        return [l for l in p.stdout.splitlines() if "gbench:" in l]

    @staticmethod
    def _parallel(rules: Sequence[Rule], fn: Any) -> tuple[list[Rule], list[str]]:
        groups = _by_node(rules)
        if not groups:
            return [], []
        done: list[Rule] = []
        errs: list[str] = []
        with ThreadPoolExecutor(max_workers=len(groups)) as ex:
            for d, e in ex.map(fn, groups.values()):
                done += d
                errs += e
        return done, errs
