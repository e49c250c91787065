"""Loading scenario files: TOML in, a validated ``Scenario`` out, or every problem at once.

A file may ``extends = "other.toml"`` and override only what differs; items of
``municipalities`` and ``agencies`` merge by name (``remove = true`` drops one).
Command-line overrides (``--set path=value``) apply last. Errors name the file, the
line where it is known, the key path (``municipalities[Toronto].shelter_beds``) and
what is wrong, and suggest the nearest known key for a misspelt one.
"""

from __future__ import annotations

import copy
import difflib
import re
import tomllib
import typing
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from sim import access, limits, paths
from sim.params import Scenario
from sim.params_base import RENAMED_KEYS
from sim.params_checks import visible
from sim.series import SeriesError, weekly_arrivals
from sim.toml_lines import find_line

REPO_ROOT = Path(__file__).resolve().parent.parent
SCENARIO_DIR = paths.BUNDLED_SCENARIOS
DEFAULT_SCENARIO = SCENARIO_DIR / "canada_baseline.toml"
MAX_EXTENDS_DEPTH = 10


class ScenarioError(Exception):
    """A scenario that cannot be used; ``problems`` holds one line per problem."""

    def __init__(self, path: Path, problems: list[str]) -> None:
        self.path = path
        # one line per problem, whatever characters a key held
        self.problems = [p.replace("\r", "\\r").replace("\n", "\\n") for p in problems]
        super().__init__("\n".join(f"{path}: {p}" for p in problems))


@dataclass
class Resolved:
    """Raw scenario data after ``extends`` and ``--set``, and where each value came from."""

    data: dict[str, Any]
    origins: dict[tuple, Any] = field(default_factory=dict)  # Origin or "--set"
    texts: dict[Path, str] = field(default_factory=dict)
    roots: tuple[Path, ...] | None = None  # folders files may be read from (None: any)


def load_scenario(path: Path, sets: typing.Sequence[str] = ()) -> Scenario:
    """Read, resolve and validate a scenario file, or raise ``ScenarioError``."""
    path = paths.scenario_file(path)
    return validate_resolved(resolve(path, sets), path)


def resolve(path: Path, sets: typing.Sequence[str] = (),
            also: typing.Sequence[Path] = ()) -> Resolved:
    """Follow ``extends`` and apply ``--set`` overrides, recording each value's origin.

    Named files must be inside the folder of ``path`` (or of the files in ``also``, such as
    the experiment naming it), the bundled library or an allowed folder (``sim.access``).
    """
    path = paths.scenario_file(path)
    resolved = Resolved({}, roots=access.roots_for(path, *also))
    _resolve_file(path, resolved, chain=())
    for item in sets:
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            raise ScenarioError(path, [f"--set {item!r}: expected path=value, e.g. "
                                       "municipalities.Toronto.shelter_beds=9000"])
        value = _parse_value(text)
        key = key.strip()
        _refuse_value_over_table(path, resolved.data, key, value)
        try:
            paths.set_in_data(resolved.data, key, value)
        except paths.PathError as e:
            raise ScenarioError(path, [f"--set {key}: {e}"]) from None
        except (TypeError, AttributeError):  # a part of the path holds a value
            raise ScenarioError(path, [f"--set {key}: not a parameter path (a part of it is "
                                       "a single value, not a table)"]) from None
        where = tuple(paths.split(key))
        resolved.origins.pop(where, None)  # re-inserted last: the latest source of a value
        resolved.origins[where] = "--set"
    return resolved


def _refuse_value_over_table(path: Path, data: dict, key: str, value: Any) -> None:
    """``--set run=5`` would replace the table ``run``: say so, naming this ``--set``."""
    try:
        parts = paths.split(key)
    except paths.PathError:
        return  # set_in_data reports it
    node: Any = data
    for part in parts:
        if not isinstance(node, dict) or part not in node:
            node = None
            break
        node = node[part]
    if part in paths.NAMED_LISTS and len(parts) == 1 or isinstance(node, dict) and \
            not isinstance(value, dict):
        known = ["<name>.<key>" if part in paths.NAMED_LISTS else k
                 for k in known_fields(tuple(parts)) or [str(k) for k in (node or {})]]
        example = f" (e.g. {key}.{known[0]}=...)" if known else ""
        raise ScenarioError(path, [f"--set {key}: {key} is a table of parameters, not one "
                                   f"value; set one of its keys{example}"])


def _parse_value(text: str) -> Any:
    """A TOML value (number, boolean, string, array, date), or the bare text as a string."""
    try:
        value = tomllib.loads(f"v = {text.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        return text.strip()
    except RecursionError:
        value = None
    too_big = limits.check_shape(value) if value is not None else limits.too_deep(
        "nested too deeply to parse")
    if too_big:
        raise ScenarioError(Path("--set"), [f"{text.strip()[:40]!r}: {too_big}"])
    return value


def read_toml(path: Path, error: type[ScenarioError] = ScenarioError) -> tuple[dict, str]:
    """A TOML file's data and text, or ``error`` saying in one line why it cannot be read."""
    try:
        raw = limits.read_bytes(path)
    except limits.LimitError as e:
        raise error(path, [f"cannot read the file: {e}"]) from None
    except OSError as e:
        raise error(path, [f"cannot read the file: {e.strerror or e}"]) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise error(path, ["not a text file (it is not valid UTF-8)"]) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise error(path, [f"not valid TOML: {e}"]) from None
    except RecursionError:  # the parser recurses once per nesting level
        raise error(path, [limits.too_deep("nested too deeply to parse")]) from None
    too_big = limits.check_shape(data)
    if too_big:
        raise error(path, [too_big])
    return data, text


def _resolve_file(path: Path, resolved: Resolved, chain: tuple[Path, ...]) -> None:
    if chain:  # the extends line of the file that named this one
        line = find_line(resolved.texts.get(chain[-1], ""), ["extends"]) or 1
        at = f"{chain[-1].name}:{line}: extends"
    if path.resolve() in (p.resolve() for p in chain):
        raise ScenarioError(chain[-1], [f"{at}: {path.name} extends itself (a cycle)"])
    if len(chain) > MAX_EXTENDS_DEPTH:
        raise ScenarioError(chain[-1], [f"{at}: chain of more than {MAX_EXTENDS_DEPTH} files"])
    data, text = read_toml(path)
    resolved.texts[path] = text
    _anchor_series_files(data, path)
    base = data.pop("extends", None)
    if base is not None:
        at = f"{path.name}:{find_line(text, ['extends']) or 1}: extends"
        if not isinstance(base, str):
            raise ScenarioError(path, [f"{at}: expected a file name, found {base!r}"])
        base_path = paths.scenario_file(base, near=path.parent)
        if not base_path.exists():
            raise ScenarioError(path, [f"{at}: {base!r} not found next to this file or in "
                                       f"{SCENARIO_DIR}"])
        if not base_path.is_file():
            raise ScenarioError(path, [f"{at}: {base!r} is a folder, not a scenario file"])
        refused = access.refusal(base_path, ".toml", resolved.roots or ())
        if refused:
            raise ScenarioError(path, [f"{at}: {refused}"])
        _resolve_file(base_path, resolved, (*chain, path))
    _merge(resolved.data, data, (), path, resolved)


def _anchor_series_files(data: dict, path: Path) -> None:
    """Series files are named relative to the scenario file that names them."""
    streams = data.get("streams")
    if not isinstance(streams, dict):
        return
    for stream in streams.values():
        series = stream.get("series") if isinstance(stream, dict) else None
        if isinstance(series, dict) and isinstance(series.get("file"), str):
            file = Path(series["file"])
            if not file.is_absolute():
                series["file"] = str((path.parent / file).resolve())


def _merge(into: dict, new: dict, where: tuple, source: Path, resolved: Resolved) -> None:
    for key, value in new.items():
        here = (*where, key)
        if key in paths.NAMED_LISTS and not where:
            into[key] = _merge_named(into.get(key, []), value, key, source, resolved)
        elif isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value, here, source, resolved)
        else:
            into[key] = copy.deepcopy(value)
            _record(value, here, source, resolved)


def _merge_named(items: list, new: Any, key: str, source: Path, resolved: Resolved) -> Any:
    """Merge a list of named tables (or a table of tables keyed by name) into ``items``."""
    if isinstance(new, dict):  # [municipalities.Toronto] style
        new = [{"name": name, **body} if isinstance(body, dict) else body
               for name, body in new.items()]
    if not isinstance(new, list) or not isinstance(items, list):
        return copy.deepcopy(new)  # let validation report the wrong type
    out = list(items)
    names = [it.get("name") for it in new if isinstance(it, dict)]
    repeated = sorted({n for n in names if isinstance(n, str) and names.count(n) > 1})
    if repeated:
        raise ScenarioError(source, [f"{key}: {', '.join(map(repr, repeated))} appears more "
                                     "than once in this file (names must be unique)"])
    for item in new:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            out.append(copy.deepcopy(item))  # validation reports the missing or bad name
            continue
        name = item["name"]
        match = next((o for o in out if isinstance(o, dict) and o.get("name") == name), None)
        if item.get("remove") is True:
            out = [o for o in out if o is not match]
            continue
        if match is None:
            out.append({})
            match = out[-1]
        _merge(match, item, (key, name), source, resolved)
    return out


class Origin:
    """Where a value was set: ``file:line``, the line found only when first shown."""

    def __init__(self, source: Path, where: tuple, text: str) -> None:
        self.source, self.where, self.text = source, where, text
        self._shown: str | None = None

    def __str__(self) -> str:
        if self._shown is None:
            line = _find_line(self.text, [str(w) for w in self.where])
            self._shown = f"{self.source.name}:{line}" if line else self.source.name
        return self._shown

    def __eq__(self, other: object) -> bool:
        return str(self) == str(other)

    def __hash__(self) -> int:
        return hash(str(self))


def _record(value: Any, where: tuple, source: Path, resolved: Resolved) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _record(v, (*where, k), source, resolved)
    else:
        resolved.origins.pop(where, None)  # re-inserted last: the latest source of a value
        resolved.origins[where] = Origin(source, where, resolved.texts.get(source, ""))


def validate(data: dict[str, Any], path: Path) -> Scenario:
    """Validate already-resolved scenario data (no ``extends``)."""
    return validate_resolved(Resolved(copy.deepcopy(data)), path)


def validate_resolved(resolved: Resolved, path: Path) -> Scenario:
    """Validate, then check that every timeline change applies; report every problem."""
    data = resolved.data
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as e:
        errors = drop_missing_explained_by_typos(e.errors())
        raise ScenarioError(path, [_describe(err, data, resolved) for err in errors]) from None
    problems = _check_timeline(scenario) + _check_series(scenario, resolved)
    if problems:
        raise ScenarioError(path, [_with_item_origin(p, resolved) for p in problems])
    return scenario


_ITEM = re.compile(r"^(\w+)\[(\d+)\]((?:\.[\w]+)*)")


def _item_origin(msg: str, resolved: Resolved) -> str:
    """``file:line`` of the list item a message starts with (``shocks[0].end_date: ...``).

    Checks across a whole scenario (windows, dates, references, timeline changes) name the
    item in their message; its line is found in the file that wrote the list.
    """
    m = _ITEM.match(msg)
    if not m:
        return ""
    name, index = m.group(1), int(m.group(2))
    origin = resolved.origins.get((name,))
    if not isinstance(origin, Origin):
        return str(origin or "")
    fields = [p for p in m.group(3).split(".") if p][:1]  # set.<path> keys hold dots
    line = find_line(origin.text, [name, index, *fields]) or find_line(origin.text,
                                                                        [name, index])
    return f"{origin.source.name}:{line}" if line else origin.source.name


def _with_item_origin(problem: str, resolved: Resolved) -> str:
    where = _item_origin(problem, resolved)
    return f"{where}: {problem}" if where else problem


def _check_timeline(scenario: Scenario) -> list[str]:
    """Apply every timeline change, in week order, to a copy and re-validate it."""
    problems = []
    trial = scenario.model_copy(deep=True)
    for i, change in sorted(enumerate(scenario.timeline), key=lambda t: t[1].week):
        for key, value in change.set.items():
            try:
                paths.assign(trial, key, value)
            except paths.PathError as e:
                problems.append(f"timeline[{i}].set.{e}")
                continue
            except ValidationError as e:
                msg = e.errors()[0]["msg"].removeprefix("Value error, ")
                problems.append(f"timeline[{i}].set.{key}: {msg} (found {value!r})")
        try:
            with warnings.catch_warnings():  # a bad value set into a dict warns on dump
                warnings.simplefilter("ignore")
                dumped = trial.model_dump()
            Scenario.model_validate(dumped)
        except ValidationError as e:
            err = e.errors()[0]
            problems.append(f"timeline[{i}]: after this change, "
                            f"{_key_path(err['loc'], dumped)}: {err['msg']}")
    return problems


def _check_series(scenario: Scenario, resolved: Resolved) -> list[str]:
    """Every observed series must be a readable monthly CSV the scenario may read."""
    problems = []
    for name, stream in scenario.streams.items():
        if stream.series is not None:
            where = ("streams", name, "series", "file")
            origin = resolved.origins.get(where)
            prefix = f"{origin}: " if origin and origin != "--set" else ""
            refused = access.refusal(Path(stream.series.file), ".csv",
                                     resolved.roots) if resolved.roots else None
            if refused:
                problems.append(f"{prefix}streams.{name}.series.file: {refused}")
                continue
            try:
                weekly_arrivals(stream.series, scenario.scenario.start_date, 1)
            except SeriesError as e:
                problems.append(f"streams.{name}.series.file: {e}")
    return problems


def drop_missing_explained_by_typos(
        errors: list[dict], known: typing.Callable[[tuple], list[str]] | None = None,
        loc_of: typing.Callable[[dict], tuple] = lambda err: tuple(err["loc"])) -> list[dict]:
    """A misspelt required key gives 'unknown' and 'missing' errors; report it once.

    ``known(loc)`` lists the keys valid at ``loc`` (default: the scenario schema's);
    ``loc_of`` maps an error to the location used for both (other schemas clean it).
    """
    known = known or known_fields
    suggested = set()
    for err in errors:
        loc = loc_of(err)
        if err["type"] == "extra_forbidden":
            close = difflib.get_close_matches(str(loc[-1]), known(loc[:-1]), n=1)
            if close:
                suggested.add((*loc[:-1], close[0]))
    return [err for err in errors
            if not (err["type"] == "missing" and loc_of(err) in suggested)]


def _as_written(loc: tuple, data: Any) -> tuple:
    """``loc`` with a renamed key put back as the file wrote it (``shelter_beds``)."""
    old = {new: old for old, new in RENAMED_KEYS.items()}.get(loc[-1] if loc else None)
    node = data
    for part in loc[:-1]:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return loc
    if old and isinstance(node, dict) and old in node and loc[-1] not in node:
        return (*loc[:-1], old)
    return loc


def _describe(err: dict[str, Any], data: dict[str, Any], resolved: Resolved) -> str:
    loc = _as_written(tuple(err["loc"]), data)
    key = _key_path(loc, data)
    where = _origin(loc, data, resolved)
    prefix = f"{where}: " if where else ""
    msg = err["msg"].removeprefix("Value error, ")
    kind = err["type"]
    if loc and loc[-1] == "[key]":  # a table keyed by names (streams, funders, ...)
        options = re.findall(r"'([^']+)'", str(err.get("ctx", {}).get("expected", "")))
        found = str(err.get("input"))
        close = difflib.get_close_matches(found, options, n=1)
        hint = f"; did you mean {close[0]}?" if close else ""
        return (f"{prefix}{_key_path(loc[:-1], data)}: unknown name {found!r} (expected one "
                f"of {', '.join(options)}){hint}")
    if kind == "extra_forbidden":
        known = known_fields(loc[:-1])
        close = difflib.get_close_matches(str(loc[-1]), known, n=1)
        hint = f"; did you mean {close[0]}?" if close else ""
        return f"{prefix}{key}: unknown key{hint}"
    if kind == "missing":
        return f"{prefix}{key}: required key is missing{_new_item_hint(loc, data)}"
    if not loc:
        where = _item_origin(msg, resolved)
        return f"{where}: {msg}" if where else msg
    found = err.get("input")
    shown = "" if isinstance(found, dict | list) else f" (found {found!r})"
    unit = field_unit(loc) if kind in _BOUNDS else ""
    return f"{prefix}{key}: {msg}{' ' + unit if unit else ''}{shown}"


_BOUNDS = ("greater_than", "greater_than_equal", "less_than", "less_than_equal")


def field_unit(loc: tuple, root: type[BaseModel] = Scenario) -> str:
    """The unit of the parameter at ``loc`` ("" if it has none), for range messages."""
    parent = _model_at(loc[:-1], root) if loc else None
    if not isinstance(parent, type) or not issubclass(parent, BaseModel):
        return ""
    field = parent.model_fields.get(str(loc[-1]))
    extra = field.json_schema_extra if field is not None else None
    unit = extra.get("unit", "") if isinstance(extra, dict) else ""
    return "" if unit in ("-", "") else str(unit)


def _new_item_hint(loc: tuple, data: Any) -> str:
    """A key missing from a named item that only a misspelt name created: suggest the name."""
    if len(loc) < 2 or loc[0] not in paths.NAMED_LISTS or not isinstance(loc[1], int):
        return ""
    items = data.get(loc[0]) if isinstance(data, dict) else None
    if not isinstance(items, list) or loc[1] >= len(items) or \
            not isinstance(items[loc[1]], dict):
        return ""
    name = str(items[loc[1]].get("name"))
    others = [str(it.get("name")) for i, it in enumerate(items)
              if isinstance(it, dict) and i != loc[1]]
    close = [o for o in others if o.casefold() == name.casefold()] or \
        difflib.get_close_matches(name, others, n=1)
    if not close:
        return ""
    return (f"; did you mean {close[0]}? ({name!r} matches no item, so it was taken as a new "
            "one; names are case-sensitive)")


def _named_loc(loc: tuple, data: Any) -> list[str]:
    """Location parts with list indices of named items replaced by their names."""
    parts: list[str] = []
    node = data
    for part in loc:
        if isinstance(part, int) and isinstance(node, list) and part < len(node) and \
                isinstance(node[part], dict) and visible(str(node[part].get("name", ""))):
            parts.append(str(node[part]["name"]))
        else:
            parts.append(str(part))
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            node = None
    return parts


def _key_path(loc: tuple, data: Any) -> str:
    """Dotted key path; list items are named by their ``name`` key where they have one."""
    out = ""
    for raw, part in zip(loc, _named_loc(loc, data), strict=True):
        if isinstance(raw, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out or "(top level)"


def _origin(loc: tuple, data: Any, resolved: Resolved) -> str:
    """``file:line`` of the value at ``loc`` (or of its nearest recorded ancestor)."""
    parts = tuple(_named_loc(loc, data))
    for n in range(len(parts), 0, -1):
        if parts[:n] in resolved.origins:
            return str(resolved.origins[parts[:n]])
        children = [v for k, v in resolved.origins.items() if k[:n] == parts[:n]]
        if children:  # a check of a whole table: blame the value set last (the user's)
            return str(children[-1])
    return ""


def _find_line(text: str, parts: list[str]) -> int | None:
    """Best-effort line number of ``parts`` in a TOML text (1-based), or None."""
    if not text:
        return None
    lines = text.splitlines()
    start = 0
    for part in parts[:-1]:
        pat = re.compile(rf'(^\s*\[\[?[^\]]*\b{re.escape(part)}\b)'
                         rf'|(name\s*=\s*"{re.escape(part)}")')
        for i in range(start, len(lines)):
            if pat.search(lines[i]):
                start = i
                break
    key = re.compile(rf'^\s*"?{re.escape(parts[-1])}"?\s*=')
    for i in range(start, len(lines)):
        if key.search(lines[i]):
            return i + 1
    return None


def known_fields(loc: tuple, root: type[BaseModel] = Scenario) -> list[str]:
    """Field names of the schema model found at ``loc`` under ``root`` (did-you-mean hints)."""
    model = _model_at(loc, root)
    if isinstance(model, type) and issubclass(model, BaseModel):
        fields = list(model.model_fields)
        return fields + [old for old, new in RENAMED_KEYS.items() if new in fields]
    return []


def _model_at(loc: tuple, root: type[BaseModel]) -> Any:
    """The schema model (or annotation) found at ``loc`` under ``root``."""
    model: Any = root
    keyed = False  # the next part is a key of a table of models (a stream name, ...)
    for part in loc:
        if isinstance(part, int):
            continue
        if keyed:
            keyed = False
            continue
        if isinstance(model, type) and issubclass(model, BaseModel):
            fld = model.model_fields.get(str(part))
            if fld is None:
                return []
            keyed = typing.get_origin(fld.annotation) is dict
            model = inner_model(fld.annotation)
        else:
            model = inner_model(model)
    return model


def inner_model(annotation: Any) -> Any:
    """The model inside ``list[M]``, ``dict[K, M]`` or ``M | None``, else the annotation."""
    for arg in reversed(typing.get_args(annotation)):
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return arg
    return annotation


def bundled_scenarios() -> list[Path]:
    return sorted(SCENARIO_DIR.glob("*.toml"))
