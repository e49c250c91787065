"""Write a resolved scenario back as TOML, each value commented with where it came from."""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Any

from sim.params import Scenario
from sim.params_base import RENAMED_KEYS
from sim.paths import NAMED_LISTS

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def to_toml(scenario: Scenario, origins: dict[tuple, str] | None = None) -> str:
    """TOML text of ``scenario``; with ``origins``, a ``# from`` comment on every value.

    Values not set by any file or override are marked ``# default``.
    """
    lines: list[str] = []
    _table(scenario.model_dump(exclude_none=True), (), (), lines, origins)
    return "\n".join(lines).strip() + "\n"


def _table(data: dict, header: tuple, named: tuple, lines: list[str],
           origins: dict[tuple, str] | None) -> None:
    scalars = {k: v for k, v in data.items() if not _is_table(v) and not _is_table_list(v)}
    for key, value in scalars.items():
        line = f"{toml_key(key)} = {toml_value(value)}"
        if origins is not None:
            line = f"{line:<60} # {_origin(origins, (*named, key))}"
        lines.append(line)
    for key, value in data.items():
        if _is_table(value):
            lines.append(f"\n[{'.'.join(toml_key(h) for h in (*header, key))}]")
            _table(value, (*header, key), (*named, key), lines, origins)
    for key, value in data.items():
        if _is_table_list(value):
            for item in value:
                lines.append(f"\n[[{'.'.join(toml_key(h) for h in (*header, key))}]]")
                name = item.get("name") if key in NAMED_LISTS else None
                item_path = (*named, key, name) if name is not None else (*named, key)
                _table(item, (*header, key), item_path, lines, origins)


def _is_table(v: Any) -> bool:
    return isinstance(v, dict)


def _is_table_list(v: Any) -> bool:
    return isinstance(v, list) and len(v) > 0 and all(isinstance(x, dict) for x in v)


def toml_key(key: str) -> str:
    """A TOML key: bare where it can be, else quoted and escaped."""
    return key if _BARE_KEY.match(key) else json.dumps(key)


def toml_value(v: Any) -> str:
    """A TOML value (bool, number, date, string, array or inline table)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{toml_key(k)} = {toml_value(x)}" for k, x in v.items()) + " }"
    raise TypeError(f"cannot write {type(v).__name__} as TOML")


def _origin(origins: dict[tuple, str], path: tuple) -> str:
    old = {new: old for old, new in RENAMED_KEYS.items()}.get(path[-1] if path else None)
    if old and (*path[:-1], old) in origins:  # set under its old name (shelter_beds)
        return f"from {origins[(*path[:-1], old)]}"
    for n in range(len(path), 0, -1):
        if path[:n] in origins:
            return f"from {origins[path[:n]]}"
    return "default"
