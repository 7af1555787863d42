"""diagram_gen: the guarantee diagrams, rendered from measured results, every number traceable.

specs/<guarantee>/<kind>.yaml (spec.py, lint.py) -> bindings resolved against results/
(resolve.py, sources.py) -> render/<type>.py -> SVG/PNG + provenance sidecar (provenance.py),
claims checked (claims.py), gallery and contradictions report (gallery.py), all driven by
build.py and ``gbench diagrams`` (cli.py). The committed reference runs the tests judge are
listed in results/reference-runs.txt (reference.py). No cluster is ever started here.
"""
