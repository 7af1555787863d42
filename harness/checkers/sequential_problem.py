"""The sequential-consistency checker's input: operations, their step inputs, program order.

``build_problem`` turns a list of ``Operation`` records (one key's, or the whole history's)
into a ``Problem`` that ``sequential_graph`` and ``sequential_search`` work on:

- **Dropped**: ``fail`` ops and indeterminate reads (the model's ``encode`` returns ``None``
  for them: they constrain nothing), and indeterminate writes nobody could have observed
  (the model's ``prune``, per key: removing such a write from any legal order leaves a legal
  order, so it never decides a verdict).
- **Required** ops (``ok``) must all be placed. **Optional** ops (``info`` writes, cas,
  deletes) may be placed at most once, or never. An optional op is *promoted* to required
  when a required op needs the value that only it installs (a read returned a unique token
  it wrote: it certainly took effect); an indeterminate cas promoted so has succeeded.
- **Program order**: op ``a`` precedes op ``b`` of the same process when ``a`` completed no
  later than ``b`` was invoked (a process runs one op at a time, so this is the order it
  issued them). An ``info`` op never completed, so it precedes nothing: it may take effect
  after the process's later ops. Jepsen gives a process a new id after an ``info`` op, and
  this repository's workers and final reads do the same (``process_stride``,
  ``+1_000_000``), so this changes nothing there; where a history reuses the id, a request
  that timed out can still be applied after the client's next one, so not ordering it is
  the honest reading. Each op keeps one program-order predecessor (``po_pred``): the
  latest-invoked required op of its process that completed before it was invoked.

Node ids: required ops ``0 .. n_req-1`` in invocation order (the search's guide order),
then optional ops in invocation order.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from harness.checkers.datatypes import APPEND, CAS_MAYBE, CAS_OK, DELETE, READ, WRITE, Model
from harness.checkers.model import INF, Operation

#: Step kinds that install a value (``installed_value``); CAS_MAYBE only when it applies.
INSTALLERS = (WRITE, CAS_OK, CAS_MAYBE, DELETE)
MISSING = object()
"""``needed_value`` of an op that needs no particular value."""


def installed_value(inp: tuple[Any, ...]) -> Any:
    """The value a write, cas or delete input leaves in the register."""
    kind, a, b = inp
    return a if kind == WRITE else None if kind == DELETE else b


def needed_value(inp: tuple[Any, ...]) -> Any:
    """The value the register must hold for a read or successful cas (``MISSING`` otherwise)."""
    return inp[1] if inp[0] in (READ, CAS_OK) else MISSING


@dataclass
class Problem:
    """Operations as graph nodes; see the module docstring for ids and program order."""

    model: Model
    ops: list[Operation]
    inputs: list[tuple[Any, ...]]
    n_req: int
    keys: list[Any]
    key_of: list[int]
    po_pred: list[int]
    """Program-order predecessor (a required node) or -1."""
    once: list[set[Any]]
    """Per key index: values installed at most once (the initial value counts as one install)."""
    po_ties: bool
    """Some program-order pair has ``a.complete == b.invoke`` (the linearizability checker
    treats such a pair as concurrent, so a linearization is then not proof of this order)."""
    installer_kinds: bool
    """Every input is a register step (read, write, cas, delete): values are installed by
    single ops, which the forced-order graph needs (kv appends are not)."""

    @property
    def n(self) -> int:
        return len(self.ops)


def build_problem(ops: Sequence[Operation], model: Model) -> Problem:
    """Encode, prune and promote per key, then number the nodes and link program order."""
    by_key: dict[Any, list[tuple[Operation, tuple[Any, ...]]]] = {}
    for op in ops:
        inp = model.encode(op)
        if inp is not None:
            by_key.setdefault(op.key, []).append((op, inp))
    keys = sorted(by_key, key=lambda k: (k is not None, str(k)))
    kept: list[tuple[Operation, tuple[Any, ...], int, bool]] = []  # op, input, key index, required
    once_per_key: list[set[Any]] = []
    installer_kinds = True
    for kid, key in enumerate(keys):
        items = model.prune(by_key[key])
        inputs = [inp for _, inp in items]
        installer_kinds = installer_kinds and all(inp[0] != APPEND for inp in inputs)
        once = model.once_only(inputs)
        once_per_key.append(once)
        required = [op.complete != INF for op, _ in items]
        # Promotion: a required op needs a once-only value that only an optional op installs.
        installer_of: dict[Any, int] = {}
        for j, (_, inp) in enumerate(items):
            if inp[0] in INSTALLERS and installed_value(inp) in once:
                installer_of[installed_value(inp)] = j
        todo = [j for j in range(len(items)) if required[j]]
        while todo:
            j = todo.pop()
            v = needed_value(items[j][1])
            if v is MISSING or v not in once:
                continue
            w = installer_of.get(v)
            if w is not None and not required[w]:
                required[w] = True
                op, inp = items[w]
                if inp[0] == CAS_MAYBE:
                    items[w] = (op, (CAS_OK, inp[1], inp[2]))
                todo.append(w)
        kept.extend((op, inp, kid, required[j]) for j, (op, inp) in enumerate(items))
    req = sorted((t for t in kept if t[3]), key=lambda t: (t[0].invoke, t[0].index))
    opt = sorted((t for t in kept if not t[3]), key=lambda t: (t[0].invoke, t[0].index))
    nodes = req + opt
    n_req = len(req)
    # Program order: per process, the latest-invoked earlier required op that completed
    # no later than this op was invoked.
    po_pred = [-1] * len(nodes)
    po_ties = False
    by_process: dict[Any, list[int]] = {}
    for i in sorted(range(len(nodes)), key=lambda i: (nodes[i][0].invoke, nodes[i][0].index)):
        op = nodes[i][0]
        prior = by_process.setdefault(op.process, [])
        for j in reversed(prior):
            if j < n_req and nodes[j][0].complete <= op.invoke:
                po_pred[i] = j
                po_ties = po_ties or nodes[j][0].complete == op.invoke
                break
        prior.append(i)
    return Problem(model=model, ops=[t[0] for t in nodes], inputs=[t[1] for t in nodes], n_req=n_req,
                   keys=keys, key_of=[t[2] for t in nodes], po_pred=po_pred, once=once_per_key,
                   po_ties=po_ties, installer_kinds=installer_kinds)
