"""Where a key is in a TOML text: the line an error should point at.

Best effort on the text itself (tomllib keeps no positions). Lists of tables are counted, so
``["shocks", 1, "end_week"]`` is the ``end_week`` of the second ``[[shocks]]``.
"""

from __future__ import annotations

import re
import typing
from typing import Any


def find_line(text: str, parts: typing.Sequence[Any]) -> int | None:
    """Best-effort line (1-based) of the key ``parts`` in a TOML text, or None.

    ``parts`` may hold list indices (``["design", "scenarios", 1, "sets", "run.weeks"]``):
    the n-th ``[[design.scenarios]]`` table. Knows quoted, dotted and inline-table keys.
    """
    if not text or not parts:
        return None
    lines = text.splitlines()
    target = tuple(int(p) if isinstance(p, int) or str(p).isdigit() else str(p)
                   for p in parts)
    # sections: (first line index, effective path) for every table header
    sections: list[tuple[int, tuple]] = [(-1, ())]
    counters: dict[tuple, int] = {}
    header_re = re.compile(r"^\s*(\[\[?)\s*(.+?)\s*\]\]?\s*(#.*)?$")
    for i, line in enumerate(lines):
        m = header_re.match(line)
        if not m:
            continue
        raw = tuple(_split_key(m.group(2)))
        path: tuple = ()
        for part in raw:  # a sub-table of an array of tables belongs to its last item
            path = (*path, part)
            if path in counters and (m.group(1) == "[" or path != raw):
                path = (*path, counters[path])
        if m.group(1) == "[[":
            counters[raw] = counters.get(raw, -1) + 1
            path = (*raw, counters[raw])
        sections.append((i, path))
    best = max((s for s in sections if target[:len(s[1])] == s[1]), key=lambda s: len(s[1]))
    start, path = best
    rest = [str(p) for p in target[len(path):] if not isinstance(p, int)]
    end = next((i for i, _ in sections if i > start), len(lines))
    if rest:
        keys = [".".join(rest[:n]) for n in range(len(rest), 0, -1)]
        for i in range(start + 1, end):
            for key in keys:
                k = re.escape(key)
                if re.match(rf'^\s*(?:"{k}"|\'{k}\'|{k})\s*=', lines[i]):
                    return i + 1
    return start + 1 if start >= 0 else None


def _split_key(key: str) -> list[str]:
    """``a."b.c".d`` -> ``["a", "b.c", "d"]``."""
    return [p.strip().strip('"').strip("'")
            for p in re.findall(r'"[^"]*"|\'[^\']*\'|[^.]+', key)]
