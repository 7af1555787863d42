"""The renderer registry: diagram type -> the module that draws it (imported only when used).

Why lazy: a missing or broken renderer must cost one diagram, not the build; build.py
records the error for that diagram and renders the others. A value may also be a callable
``render(d) -> Figure`` (tests register a stand-in that way).
"""
from __future__ import annotations

import importlib
from typing import Callable, Union

from diagram_gen.model import DIAGRAM_TYPES

RenderFn = Callable[..., object]

#: type -> module path (exposing ``render(d: ResolvedDiagram) -> Figure``) or a callable
RENDERERS: dict[str, Union[str, RenderFn]] = {t: f"diagram_gen.render.{t}" for t in DIAGRAM_TYPES}


class RendererMissing(Exception):
    """No usable renderer for a diagram type (not registered, module missing, no render())."""


def get_renderer(diagram_type: str) -> RenderFn:
    entry = RENDERERS.get(diagram_type)
    if entry is None:
        raise RendererMissing(f"no renderer registered for type {diagram_type!r}")
    if callable(entry):
        return entry
    try:
        module = importlib.import_module(entry)
    except ModuleNotFoundError as e:
        if e.name == entry:
            raise RendererMissing(f"renderer module {entry} does not exist") from e
        raise RendererMissing(f"renderer module {entry} failed to import: {e}") from e
    except Exception as e:  # a renderer with a bug at import time still costs only its diagram
        raise RendererMissing(f"renderer module {entry} failed to import: {type(e).__name__}: {e}") from e
    fn = getattr(module, "render", None)
    if not callable(fn):
        raise RendererMissing(f"renderer module {entry} has no render(d) function")
    return fn
