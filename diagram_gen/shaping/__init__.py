"""Pure shaping of results rows into what diagrams draw (no I/O, deterministic)."""
