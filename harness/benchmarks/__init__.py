"""Benchmarks of the harness's own components (not of databases): ``checker_speed``."""
