"""Mesa, imported without the cost of its loggers' look at the call stack.

At import, ``mesa.model`` names its logger after the importing module and its method
loggers after their class, with ``inspect.stack()`` and ``inspect.getouterframes()``. Both
look up the source file, module and lines of every frame on the stack, and imported deep
inside ours (``reception`` -> sim.runner -> sim.model -> mesa) that was ~0.12 s of every
start (``python -X importtime``: the own time of ``mesa.model``). For that one import the
two give each frame's (frame, file name, line, function) without looking anything up,
which is all Mesa reads of them.

Modules of this project import Mesa as ``from sim.mesa_import import mesa``.
"""

from __future__ import annotations

import inspect
import sys
from types import FrameType


def _frames(frame: FrameType | None) -> list[tuple]:
    """``inspect.getouterframes(frame)`` without source files, modules or lines."""
    out = []
    while frame is not None:
        out.append((frame, frame.f_code.co_filename, frame.f_lineno, frame.f_code.co_name,
                    None, None))
        frame = frame.f_back
    return out


def _module_of(obj, _filename=None):
    """``inspect.getmodule`` of a frame by its globals' ``__name__`` (without scanning every
    loaded module's file); of anything else as ``inspect.getmodule``."""
    if isinstance(obj, FrameType):
        return sys.modules.get(obj.f_globals.get("__name__"))
    return _GETMODULE(obj, _filename)


_GETMODULE = inspect.getmodule


def _import_mesa():
    saved = inspect.stack, inspect.getouterframes, inspect.getmodule
    inspect.stack = lambda context=1: _frames(sys._getframe(1))
    inspect.getouterframes = lambda frame, context=1: _frames(frame)
    inspect.getmodule = _module_of
    try:
        import mesa
    finally:
        inspect.stack, inspect.getouterframes, inspect.getmodule = saved
    return mesa


mesa = _import_mesa()
