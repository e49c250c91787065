"""Loading scenario files: TOML in, a validated ``Scenario`` out, or every problem at once.

Errors name the file, the key path (``municipalities[Toronto].shelter_beds``) and what
is wrong, and suggest the nearest known key for a misspelt one.
"""

from __future__ import annotations

import difflib
import tomllib
import typing
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from sim.params import Scenario

REPO_ROOT = Path(__file__).resolve().parent.parent
SCENARIO_DIR = REPO_ROOT / "scenarios"
DEFAULT_SCENARIO = SCENARIO_DIR / "canada_baseline.toml"


class ScenarioError(Exception):
    """A scenario file that cannot be used; ``problems`` holds one line per problem."""

    def __init__(self, path: Path, problems: list[str]) -> None:
        self.path = path
        self.problems = problems
        super().__init__("\n".join(f"{path}: {p}" for p in problems))


def load_scenario(path: Path) -> Scenario:
    """Read and validate a scenario file, or raise ``ScenarioError`` listing every problem."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise ScenarioError(path, [f"cannot read the file: {e.strerror or e}"]) from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ScenarioError(path, ["not a text file (it is not valid UTF-8)"]) from None
    except tomllib.TOMLDecodeError as e:
        raise ScenarioError(path, [f"not valid TOML: {e}"]) from None
    return validate(data, path)


def validate(data: dict[str, Any], path: Path) -> Scenario:
    """Validate already-parsed scenario data."""
    try:
        return Scenario.model_validate(data)
    except ValidationError as e:
        errors = _drop_missing_explained_by_typos(e.errors())
        raise ScenarioError(path, [_describe(err, data) for err in errors]) from None


def _drop_missing_explained_by_typos(errors: list[dict]) -> list[dict]:
    """A misspelt required key gives 'unknown' and 'missing' errors; report it once."""
    suggested = set()
    for err in errors:
        if err["type"] == "extra_forbidden":
            close = difflib.get_close_matches(str(err["loc"][-1]), _known_fields(err["loc"][:-1]),
                                              n=1)
            if close:
                suggested.add((*err["loc"][:-1], close[0]))
    return [err for err in errors
            if not (err["type"] == "missing" and tuple(err["loc"]) in suggested)]


def _describe(err: dict[str, Any], data: dict[str, Any]) -> str:
    loc = err["loc"]
    key = _key_path(loc, data)
    msg = err["msg"].removeprefix("Value error, ")
    kind = err["type"]
    if kind == "extra_forbidden":
        known = _known_fields(loc[:-1])
        close = difflib.get_close_matches(str(loc[-1]), known, n=1)
        hint = f"; did you mean {close[0]}?" if close else ""
        return f"{key}: unknown key{hint}"
    if kind == "missing":
        return f"{key}: required key is missing"
    if not loc:
        return msg
    found = err.get("input")
    shown = "" if isinstance(found, dict | list) else f" (found {found!r})"
    return f"{key}: {msg}{shown}"


def _key_path(loc: tuple, data: Any) -> str:
    """Dotted key path; list items are named by their ``name`` key where they have one."""
    parts: list[str] = []
    node = data
    for part in loc:
        if isinstance(part, int):
            name = node[part].get("name") if isinstance(node, list) and part < len(node) and \
                isinstance(node[part], dict) else None
            parts[-1] += f"[{name if name is not None else part}]"
        else:
            parts.append(str(part))
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            node = None
    return ".".join(parts) or "(top level)"


def _known_fields(loc: tuple) -> list[str]:
    """Field names of the schema model found at ``loc`` (for did-you-mean hints)."""
    model: Any = Scenario
    for part in loc:
        if isinstance(part, int):
            continue
        if isinstance(model, type) and issubclass(model, BaseModel):
            field = model.model_fields.get(str(part))
            if field is None:
                return []
            model = _inner_model(field.annotation)
        else:
            model = _inner_model(model)
    if isinstance(model, type) and issubclass(model, BaseModel):
        return list(model.model_fields)
    return []


def _inner_model(annotation: Any) -> Any:
    """The model inside ``list[M]``, ``dict[K, M]`` or ``M | None``, else the annotation."""
    for arg in reversed(typing.get_args(annotation)):
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return arg
    return annotation


def bundled_scenarios() -> list[Path]:
    return sorted(SCENARIO_DIR.glob("*.toml"))
