"""guarantees-bench harness.

Data flows one way:
    scenario (workloads/*.yaml) -> cluster (providers + systems) -> workload + nemesis
    -> history and histograms (recorder) -> checkers -> summary (results) -> diagrams.
"""
__version__ = "0.1.0"
