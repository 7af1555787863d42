"""Fixtures for the checker tests: a builder of harness histories with times in ms, and the
shared reference histories (skipped with the reason when ``shared/`` is absent)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from harness.checkers.formats import from_ops
from harness.checkers.model import History
from harness.checkers.reference import ReferenceHistory, reference_histories, testdata_dir
from harness.recorder.history import Op, write_history


class HistoryBuilder:
    """Harness ``Op`` records with ms times, turned into a checker ``History`` or a JSONL file."""

    def __init__(self) -> None:
        self.ops: list[Op] = []

    def add(self, process: int | str, f: str, key: str, value: Any, t0_ms: float, t1_ms: float | None,
            type: str = "ok", result: Any = None, rc: str | None = None, final: bool = False,
            revision: int | None = None, error: str | None = None, node: str | None = None,
            session: int | str | None = None) -> "HistoryBuilder":
        extra: dict[str, Any] = {"final": True} if final else {}
        if session is not None:
            extra["session"] = session
        self.ops.append(Op(i=len(self.ops), process=process, f=f, key=key, value=value,
                           invoke_ns=int(t0_ms * 1_000_000),
                           complete_ns=None if t1_ms is None else int(t1_ms * 1_000_000), type=type,  # type: ignore[arg-type]
                           read_consistency=rc if f == "get" else None, result=result, error=error,
                           revision=revision, extra=extra, node=node))
        return self

    def put(self, p: int, key: str, token: str, t0: float, t1: float | None, type: str = "ok", **kw: Any
            ) -> "HistoryBuilder":
        return self.add(p, "put", key, token, t0, t1, type, **kw)

    def get(self, p: int, key: str, result: Any, t0: float, t1: float | None, type: str = "ok", **kw: Any
            ) -> "HistoryBuilder":
        return self.add(p, "get", key, None, t0, t1, type, result=result, **kw)

    def cas(self, p: int, key: str, expected: Any, new: str, t0: float, t1: float | None, type: str = "ok",
            **kw: Any) -> "HistoryBuilder":
        return self.add(p, "cas", key, [expected, new], t0, t1, type, **kw)

    def delete(self, p: int, key: str, t0: float, t1: float | None, type: str = "ok", **kw: Any
               ) -> "HistoryBuilder":
        return self.add(p, "delete", key, None, t0, t1, type, **kw)

    def nemesis(self, f: str, t0: float, t1: float) -> "HistoryBuilder":
        return self.add("nemesis", f, "", None, t0, t1, "info")

    def history(self) -> History:
        return from_ops(self.ops)

    def write(self, path: Path) -> Path:
        write_history(path, self.ops)
        return path


@pytest.fixture
def hb() -> HistoryBuilder:
    return HistoryBuilder()


def _references() -> list[ReferenceHistory]:
    try:
        return reference_histories()
    except (OSError, ValueError):
        return []


REFERENCES = _references()
SHARED_MISSING = (f"shared reference histories not found under {testdata_dir()} "
                  "(set GBENCH_SHARED_DIR to the shared/ folder)")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A test asking for ``reference`` runs once per reference history (or skips, saying why)."""
    if "reference" in metafunc.fixturenames:
        if not REFERENCES:
            metafunc.parametrize("reference", [pytest.param(None, marks=pytest.mark.skip(reason=SHARED_MISSING),
                                                            id="no-shared-dir")])
        else:
            metafunc.parametrize("reference", REFERENCES, ids=[r.name for r in REFERENCES])


@pytest.fixture
def references() -> list[ReferenceHistory]:
    """All reference histories; skips the test (with the reason) when shared/ is absent."""
    if not REFERENCES:
        pytest.skip(SHARED_MISSING)
    return REFERENCES
