"""sim.mesa_import: Mesa imported with a cheap look at the call stack, which leaves
``inspect`` as it found it and Mesa's loggers named as Mesa names them."""

from __future__ import annotations

import inspect
import subprocess
import sys

from sim import mesa_import


def test_inspect_is_restored_after_the_import():
    for f in (inspect.stack, inspect.getouterframes, inspect.getmodule):
        assert (f.__module__, f.__qualname__) == ("inspect", f.__name__)
    assert inspect.getmodule is mesa_import._GETMODULE


def test_frames_give_each_frame_its_file_line_and_function():
    frames = mesa_import._frames(sys._getframe())
    frame, filename, line, function, context, index = frames[0]
    assert frame is sys._getframe()
    assert filename == __file__
    assert function == "test_frames_give_each_frame_its_file_line_and_function"
    assert line > 0
    assert (context, index) == (None, None)
    assert frames[1][0] is sys._getframe(1)
    assert mesa_import._module_of(frame) is sys.modules[__name__]


def test_mesa_names_its_loggers_as_without_the_shortcut():
    code = ("import {first}; import mesa.model, mesa.mesa_logging as ml; "
            "print(mesa.model._mesa_logger.name, sorted(ml._module_loggers))")
    names = [subprocess.run([sys.executable, "-c", code.format(first=first)], check=True,
                            capture_output=True, text=True).stdout
             for first in ("sim.mesa_import", "mesa")]
    assert names[0] == names[1]
    assert names[0].startswith("MESA.mesa.model ")
