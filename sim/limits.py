"""Bounded reading of input files: a hostile or absurd file is refused, never read forever.

Every file a user or a scenario names (scenarios, experiments, observed series) is read
through ``read_bytes``: only a regular file (no device such as ``/dev/zero``, no FIFO, no
folder), at most ``RECEPTION_MAX_FILE_MB`` megabytes. Parsed TOML is then checked by
``check_shape``: nesting at most ``RECEPTION_MAX_DEPTH`` levels deep (deeper nesting makes
the parser and the validator recurse without end) and at most ``RECEPTION_MAX_ITEMS``
entries in any one array or table (40,000 municipalities would run for minutes before any
check). Each limit is an environment variable so a user with a real need can raise it; the
limits are listed in docs/parameters.md ("Limits on input files").
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

LIMITS = {  # environment variable -> (default, what it bounds)
    "RECEPTION_MAX_FILE_MB": (5, "megabytes in one input file"),
    "RECEPTION_MAX_DEPTH": (16, "levels of nested arrays and tables"),
    "RECEPTION_MAX_ITEMS": (2000, "entries in one array or table"),
}


class LimitError(ValueError):
    """A file beyond a limit or not a regular file; the message is one line naming the fix."""


def limit(name: str) -> int:
    """The current value of a limit (its environment variable, else the default)."""
    default = LIMITS[name][0]
    raw = os.environ.get(name, "").strip()
    try:
        value = float(raw) if raw else default
    except ValueError:
        return default
    return int(value) if value > 0 else default


def _over(name: str, found: str) -> str:
    return (f"{found}, over the limit of {limit(name):,} {LIMITS[name][1]}; set {name} to "
            "raise it")


def too_deep(found: str) -> str:
    """The message for nesting beyond the depth limit (also when the parser gave up first)."""
    return _over("RECEPTION_MAX_DEPTH", found)


def _kind(mode: int) -> str:
    for test, word in ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return word
    return "not a regular file"


def read_bytes(path: Path) -> bytes:
    """The content of a regular file within the size limit, or ``LimitError``/``OSError``.

    Opened without blocking (a FIFO with no writer would block ``open``) and checked with
    ``fstat`` on the open file, so a swapped path cannot slip through between check and read.
    """
    max_bytes = limit("RECEPTION_MAX_FILE_MB") * 1024 * 1024
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise LimitError(f"{_kind(info.st_mode)}, not a regular file; only regular files "
                             "are read")
        if info.st_size > max_bytes:
            raise LimitError(_over("RECEPTION_MAX_FILE_MB",
                                   f"the file is {info.st_size / 2**20:,.1f} MB"))
        chunks, size = [], 0
        while size <= max_bytes:  # a file growing while read stops at the limit too
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > max_bytes:
            raise LimitError(_over("RECEPTION_MAX_FILE_MB", "the file grew while read"))
        return b"".join(chunks)
    finally:
        os.close(fd)


def check_shape(data: Any) -> str | None:
    """Why parsed data is too deep or too large (None: it is within the limits).

    Iterative, so the check itself cannot exhaust the stack on a hostile file.
    """
    max_depth, max_items = limit("RECEPTION_MAX_DEPTH"), limit("RECEPTION_MAX_ITEMS")
    stack: list[tuple[Any, int, str]] = [(data, 0, "")]
    while stack:
        node, depth, where = stack.pop()
        if not isinstance(node, dict | list):
            continue
        at = where or "(top level)"
        if depth > max_depth:
            return f"{at}: " + too_deep(f"nested {depth} levels deep")
        if len(node) > max_items:
            return f"{at}: " + _over("RECEPTION_MAX_ITEMS", f"{len(node):,} entries")
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for key, value in items:
            child = f"{where}[{key}]" if isinstance(key, int) else \
                f"{where}.{key}" if where else str(key)
            stack.append((value, depth + 1, child))
    return None
