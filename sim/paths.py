"""Parameter paths: ``municipalities.Toronto.policies.intake_cap`` and friends.

One syntax serves command-line overrides (``--set``), timeline entries and error
messages. Items of the named lists (municipalities, agencies) are addressed by name,
either as ``municipalities.Toronto`` or ``municipalities[Toronto]``; items of lists without
names (``shocks``) by position from 0, ``shocks.0.multiplier`` or ``shocks[0].multiplier``.
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from sim.params_base import RENAMED_KEYS

NAMED_LISTS = ("municipalities", "agencies")
BUNDLED_SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"

# Parameters that only set up week 0 or give identity: a timeline cannot change them.
FIXED_DURING_RUN = ("run", "scenario", "timeline", "transfers")
FIXED_FIELDS = ("name", "municipality", "reserves", "initial_shelter_occupancy", "grants")


class PathError(ValueError):
    """A path that does not name a parameter."""


def split(path: str) -> list[str]:
    """``a.b[c].d`` -> ``['a', 'b', 'c', 'd']``; quoted names may hold dots."""
    path = re.sub(r"\[([^\]]+)\]", r".\1", path.strip())
    parts = [p.strip().strip('"').strip("'") for p in re.findall(r'"[^"]*"|[^.]+', path)]
    unquoted = re.sub(r'"[^"]*"', "x", path)
    if not parts or any(p == "" for p in parts) or ".." in unquoted or \
            unquoted.startswith(".") or unquoted.endswith("."):
        raise PathError(f"{path!r} is not a parameter path (expected e.g. "
                        "municipalities.Toronto.shelter_beds)")
    return parts


def set_in_data(data: dict, path: str, value: Any) -> None:
    """Set ``path`` in raw scenario data (dicts and lists, before validation)."""
    parts = split(path)
    node: Any = data
    for i, part in enumerate(parts[:-1]):
        if isinstance(node, list):
            node = _named_item(node, part, parts[:i])
            continue
        if part not in node:
            nxt = parts[i + 1]
            node[part] = [] if part in NAMED_LISTS and len(parts) > i + 2 else {}
            if isinstance(node[part], list):
                node[part].append({"name": nxt})
        node = node[part]
    last = parts[-1]
    if isinstance(node, list):
        raise PathError(f"{path}: give a key after the item name")
    for old_key, new_key in RENAMED_KEYS.items():  # a key replaces its other name
        if last in (old_key, new_key):
            node.pop(new_key if last == old_key else old_key, None)
    node[last] = value


def _by_position(items: list, part: str, where: list[str]) -> Any | None:
    """Item ``part`` (a position from 0) of a list whose items have no names, else None."""
    if not part.isdigit() or any(_name_of(it) is not None for it in items):
        return None
    if int(part) >= len(items):
        raise PathError(f"{'.'.join(where)}: no item {part} (the list has {len(items)}, "
                        "counted from 0)")
    return items[int(part)]


def _name_of(item: Any) -> Any:
    return item.get("name") if isinstance(item, dict) else getattr(item, "name", None)


def _named_item(items: list, name: str, where: list[str]) -> dict:
    if (item := _by_position(items, name, where)) is not None:
        return item
    for item in items:
        if isinstance(item, dict) and item.get("name") == name:
            return item
    names = [str(it.get("name")) for it in items if isinstance(it, dict)]
    close = [n for n in names if n.casefold() == name.casefold()] or \
        difflib.get_close_matches(name, names, n=1)
    hint = f"; did you mean {close[0]}?" if close else ""
    raise PathError(f"{'.'.join(where)}: no item named {name!r} (known: {', '.join(names)})"
                    f"{hint}")


def resolve(model: BaseModel, path: str) -> tuple[BaseModel | dict, str]:
    """The object holding the parameter at ``path`` in a validated scenario, and its key."""
    parts = split(path)
    node: Any = model
    for i, part in enumerate(parts[:-1]):
        node = _child(node, part, parts[:i])
    last = parts[-1]
    if isinstance(node, BaseModel) and last in RENAMED_KEYS:
        last = RENAMED_KEYS[last]
    if isinstance(node, BaseModel) and last not in type(node).model_fields:
        owner = ".".join(parts[:-1]) or "the scenario"
        raise PathError(f"{path}: {last!r} is not a parameter of {owner}")
    if isinstance(node, list):
        raise PathError(f"{path}: give a key after the item name")
    if not isinstance(node, BaseModel | dict):
        raise PathError(f"{path}: {'.'.join(parts[:-1])} is a value, not a table")
    return node, last


def _child(node: Any, part: str, where: list[str]) -> Any:
    if isinstance(node, list):
        if (item := _by_position(node, part, where)) is not None:
            return item
        for item in node:
            if getattr(item, "name", None) == part:
                return item
        known = ", ".join(str(getattr(it, "name", "?")) for it in node)
        raise PathError(f"{'.'.join(where)}: no item named {part!r} (known: {known})")
    if isinstance(node, BaseModel):
        if part not in type(node).model_fields:
            raise PathError(f"{'.'.join([*where, part])}: {part!r} is not a parameter")
        return getattr(node, part)
    if isinstance(node, dict):
        if part not in node:
            raise PathError(f"{'.'.join([*where, part])}: no such key")
        return node[part]
    raise PathError(f"{'.'.join(where)} has no parts")


def assign(model: BaseModel, path: str, value: Any) -> None:
    """Set a parameter of a validated scenario during a run, validating the new value."""
    parts = split(path)
    if parts[0] in FIXED_DURING_RUN or parts[-1] in FIXED_FIELDS:
        raise PathError(f"{path}: fixed for the whole run; a timeline cannot change it")
    holder, key = resolve(model, path)
    if isinstance(holder, dict):
        holder[key] = value
    else:
        setattr(holder, key, value)  # validate_assignment checks type and range


def scenario_file(name: str | Path, near: Path | None = None) -> Path:
    """The scenario file a name means, by one rule for every command and the Python API.

    ``name`` as given (relative to ``near``, default the working folder), then with
    ``.toml`` added; a bare file name (``classroom``, ``canada_baseline.toml``) not found
    there is looked up in the bundled library. What matches nothing is returned as given,
    so the loader's error names it.
    """
    name = Path(name)
    folder = Path(".") if near is None else near
    here = [name] if name.is_absolute() else [folder / name]
    if name.suffix != ".toml" and here[0].name not in ("", ".", ".."):
        here.append(here[0].with_name(here[0].name + ".toml"))
    bundled = []
    if not name.is_absolute() and len(name.parts) == 1 and name.name not in (".", ".."):
        bundled = [BUNDLED_SCENARIOS / c.name for c in here]
    for candidate in [*here, *bundled]:
        if candidate.exists():
            return candidate
    return here[0]
