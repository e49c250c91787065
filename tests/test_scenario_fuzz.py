"""Fuzzing the scenario loader: a broken scenario file is one clear line per problem, never a
traceback.

Each property starts from a small valid scenario, breaks it in one way chosen by hypothesis
(a wrong type, an out-of-range number, a missing or misspelt key, a broken reference, bad
TOML, binary junk, a bad timeline entry, an ``extends`` or observed-series file that is not
there) and runs
``reception validate`` in-process. Every example must exit with status 2, print only
``error: FILE: ...`` lines to stderr (no traceback, no warnings), name the offending key
(``municipalities[Metro].shelter_beds``: items of named lists by name) and write nothing.
Two ``reception run`` subprocesses check the same in a real process.

Examples are derandomized and the example database is off, so CI sees the same examples
on every run.
"""

from __future__ import annotations

import copy
import string
import subprocess
import sys
import tempfile
import tomllib
import typing
import warnings
from datetime import date
from pathlib import Path
from typing import Any, Literal

import annotated_types
import pytest
from hypothesis import HealthCheck, Phase, assume, currently_in_test_context, given, note, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from sim.cli import main
from sim.codes import DIMENSIONS, STREAMS
from sim.params import Scenario
from sim.paths import FIXED_DURING_RUN, FIXED_FIELDS, NAMED_LISTS
from sim.show import to_toml

FUZZ = settings(max_examples=120, deadline=None, derandomize=True, database=None,
                phases=[Phase.explicit, Phase.generate, Phase.shrink],
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])

# ---------------------------------------------------------------- the valid starting points

SMALL: dict[str, Any] = {
    "scenario": {"name": "fuzz", "start_date": date(2023, 1, 2)},
    "run": {"weeks": 20, "seed": 3, "scale": 5, "progress": False},
    "streams": {
        "economic_pr": {"per_year": 2000, "series": {
            "file": "arrivals.csv", "where": {"kind": "asylum"}, "share": 0.5}},
        "asylum_claimant": {"per_year": 1000, "housing_on_arrival": {
            "needs_shelter": 0.8, "friends_family": 0.2, "precarious_rental": 0.0,
            "stable_housing": 0.0}},
    },
    "shocks": [{"stream": "asylum_claimant", "start_week": 2, "end_week": 6,
                "multiplier": 3.0}],
    "municipalities": [
        {"name": "Metro", "kind": "gateway", "population": 500_000, "rental_stock": 60_000,
         "shelter_beds": 200, "stream_weights": {"asylum_claimant": 3.0},
         "policies": {"intake_cap": True}},
        {"name": "Town", "population": 20_000, "rental_stock": 2_000, "shelter_beds": 10},
    ],
    "agencies": [
        {"name": "ISA", "municipality": "Metro", "staff_fte": 5,
         "services": ["orientation", "language"],
         "grants": [{"funder": "federal", "amount_per_year": 375_000, "kind": "core"}]},
        {"name": "Town Help", "municipality": "Town", "staff_fte": 1,
         "grants": [{"funder": "provincial", "amount_per_year": 75_000},
                    {"funder": "charity", "amount_per_year": 5_000, "end_week": 10}]},
    ],
    "integration": {"weights": {d: 0.2 for d in DIMENSIONS}},
    "services": {"eligibility": {"federal": ["economic_pr", "protected_person"]}},
    "timeline": [{"date": date(2023, 2, 6), "note": "council vote",
                  "set": {"municipalities.Metro.policies.intake_cap": False,
                          "housing.search_rate": 0.1}}],
    "transfers": [{"week": 4, "municipality": "Town", "amount": 50_000.0}],
}

# Every parameter written out, as `reception show` would (dates resolved to weeks).
FULL: dict[str, Any] = tomllib.loads(to_toml(Scenario.model_validate(SMALL)))
BASES = {"small": SMALL, "full": FULL}
# Files next to every scenario: the observed series the base scenarios name.
CSV = b"month,value,kind\n2022-12,90,asylum\n2023-01,100,asylum\n2023-02,120,asylum\n"
BASE_FILES = {"arrivals.csv": CSV}
NAMES = {"Metro", "Town"}
BAD_FILE = "bad.toml"


# ---------------------------------------------------------------- a tiny TOML writer

_BARE = set(string.ascii_letters + string.digits + "_-")


def _toml_str(s: str) -> str:
    out = []
    for ch in s:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _toml_key(k: str) -> str:
    return k if k and set(k) <= _BARE else _toml_str(k)


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, str):
        return _toml_str(v)
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{_toml_key(k)} = {_toml_value(x)}" for k, x in v.items()) + "}"
    raise TypeError(f"cannot write {type(v).__name__} as TOML")


def _tables(v: Any) -> bool:
    return isinstance(v, list) and len(v) > 0 and all(isinstance(x, dict) for x in v)


def _toml_table(table: dict, header: tuple, lines: list[str]) -> None:
    for k, v in table.items():
        if not isinstance(v, dict) and not _tables(v):
            lines.append(f"{_toml_key(k)} = {_toml_value(v)}")
    for k, v in table.items():
        if isinstance(v, dict):
            lines.append(f"\n[{'.'.join(_toml_key(h) for h in (*header, k))}]")
            _toml_table(v, (*header, k), lines)
    for k, v in table.items():
        if _tables(v):
            for item in v:
                lines.append(f"\n[[{'.'.join(_toml_key(h) for h in (*header, k))}]]")
                _toml_table(item, (*header, k), lines)


def toml_text(data: dict) -> str:
    lines: list[str] = []
    _toml_table(data, (), lines)
    return "\n".join(lines).strip() + "\n"


# ---------------------------------------------------------------- the schema at a data path


def _unoptional(ann: Any) -> Any:
    args = typing.get_args(ann)
    if typing.get_origin(ann) in (typing.Union, type(int | None)) and type(None) in args:
        rest = [a for a in args if a is not type(None)]
        return rest[0] if len(rest) == 1 else ann
    return ann


def _is_model(ann: Any) -> bool:
    return isinstance(ann, type) and issubclass(ann, BaseModel)


def schema_at(path: tuple) -> tuple[Any, Any]:
    """(annotation, FieldInfo or None) of the value at a raw-data path; (None, None) if
    the schema has no such place."""
    ann: Any = Scenario
    info = None
    for part in path:
        ann = _unoptional(ann)
        origin = typing.get_origin(ann)
        info = None
        if _is_model(ann):
            info = ann.model_fields.get(part) if isinstance(part, str) else None
            if info is None:
                return None, None
            ann = info.annotation
        elif origin is list and isinstance(part, int):
            ann = typing.get_args(ann)[0]
        elif origin is dict and isinstance(part, str):
            ann = typing.get_args(ann)[1]
        else:
            return None, None
    return _unoptional(ann), info


def allowed_keys(path: tuple) -> set[str] | None:
    """Keys the table at ``path`` may hold (None: any key, as in a timeline's ``set``)."""
    ann, _ = schema_at(path)
    if _is_model(ann):
        return set(ann.model_fields)
    if typing.get_origin(ann) is dict:
        key = typing.get_args(ann)[0]
        return set(typing.get_args(key)) if typing.get_origin(key) is Literal else None
    return None


def nodes(data: Any, prefix: tuple = ()) -> list[tuple[tuple, Any]]:
    """Every (path, value) below ``data``, depth first."""
    out = []
    items = data.items() if isinstance(data, dict) else enumerate(data)
    for k, v in items:
        out.append(((*prefix, k), v))
        if isinstance(v, dict | list):
            out.extend(nodes(v, (*prefix, k)))
    return out


def get(data: Any, path: tuple) -> Any:
    for part in path:
        data = data[part]
    return data


def shown(path: tuple, data: Any) -> tuple[str, ...]:
    """How an error message may spell ``path``: dotted keys, list items in brackets, items
    of named lists by their name (by index too when the name is not a string)."""
    spellings = [""]
    node = data
    for part in path:
        if isinstance(part, int):
            item = node[part] if isinstance(node, list) and part < len(node) else None
            opts = [f"[{part}]"]
            if isinstance(item, dict) and "name" in item:
                name = item["name"]
                opts = [f"[{name}]"] if isinstance(name, str) else [f"[{part}]", f"[{name}]"]
            spellings = [s + o for s in spellings for o in opts]
        else:
            spellings = [f"{s}.{part}" if s else str(part) for s in spellings]
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            node = None
    return tuple(spellings)


# ---------------------------------------------------------------- one broken scenario


class Case:
    """A broken scenario file and what its error message must contain.

    ``expect`` is a list of groups; one stderr line must contain, for every group, at least
    one of the group's strings. ``files`` are written next to it. (A plain class, so that
    hypothesis shows a falsifying example by its one-line description; the file itself is
    in the example's notes.)
    """

    def __init__(self, what: str, content: bytes, expect: list[tuple[str, ...]] | None = None,
                 files: dict[str, bytes] | None = None) -> None:
        self.what = what
        self.content = content
        self.expect = expect or []
        self.files = dict(BASE_FILES) if files is None else files
        self.main_file_errors_only = True  # every line is about bad.toml itself

    def __repr__(self) -> str:
        return f"Case({self.what!r})"


def case_from(what: str, data: dict, expect: list[tuple[str, ...]], **kw: Any) -> Case:
    return Case(what, toml_text(data).encode(), expect, **kw)


bases = st.sampled_from(sorted(BASES))
# Text for keys and names, with the characters that matter to TOML, paths and terminals.
any_text = st.text(st.one_of(st.characters(codec="utf-8"), st.sampled_from(" \t\n\r.[]\"'=#\\")),
                   max_size=12)


def _wrong_values(ann: Any) -> list[Any]:
    """Values of the wrong type for a field typed ``ann`` (none that pydantic coerces)."""
    table, array = {"x": 1}, [1, 2]
    if ann is bool:  # quoted booleans and 0/1 are never converted (one type rule)
        return [2, 0.5, "maybe", "false", "true", 0, 1, array, table]
    if ann is int:
        return [2.5, "five", "52", True, array, table]
    if ann is float:
        return ["five", "", "1.5", "1e3", False, array, table, date(2020, 1, 1)]
    if ann is str or typing.get_origin(ann) is Literal:
        return [5, 1.5, True, ["a"], table, date(2020, 1, 1)]
    if ann is date:
        return ["someday", True, 1.5, array, table]
    if typing.get_origin(ann) is list:
        return [5, "x", True, table]
    if typing.get_origin(ann) is dict or _is_model(ann):
        return [5, "x", True, array]
    return []


def _mutable_paths(data: dict) -> list[tuple]:
    """Paths whose value has a schema type (not inside a timeline's free-form ``set``)."""
    out = []
    for path, _ in nodes(data):
        ann, _ = schema_at(path)  # None inside a timeline's free-form `set`
        if ann is not None and _wrong_values(ann):
            out.append(path)
    return out


MUTABLE = {b: _mutable_paths(BASES[b]) for b in BASES}


@st.composite
def wrong_types(draw: st.DrawFn) -> Case:
    base = draw(bases)
    path = draw(st.sampled_from(MUTABLE[base]))
    ann, _ = schema_at(path)
    value = draw(st.sampled_from(_wrong_values(ann)))
    data = copy.deepcopy(BASES[base])
    parent = get(data, path[:-1])
    parent[path[-1]] = value
    return case_from(f"{base}: {path} = {value!r}", data, [shown(path, data)])


def _limits(info: Any) -> dict[str, Any]:
    out = {}
    for m in info.metadata if info is not None else ():
        for name in ("ge", "gt", "le", "lt"):
            if isinstance(m, getattr(annotated_types, name.capitalize())):
                out[name] = getattr(m, name)
    return out


def _ranged_paths(data: dict) -> list[tuple]:
    out = []
    for path, v in nodes(data):
        ann, info = schema_at(path)
        if ann in (int, float) and not isinstance(v, bool) and _limits(info):
            out.append(path)
    return out


RANGED = {b: _ranged_paths(BASES[b]) for b in BASES}


@st.composite
def out_of_range(draw: st.DrawFn) -> Case:
    base = draw(bases)
    path = draw(st.sampled_from(RANGED[base]))
    ann, info = schema_at(path)
    limits = _limits(info)
    side = draw(st.sampled_from(sorted(limits)))
    bound = limits[side]
    if ann is int:
        step = draw(st.integers(1, 10**6))
    else:
        step = draw(st.one_of(st.floats(1e-3, 1e6), st.just(0.5), st.just(1.0)))
    value = {"ge": bound - step, "gt": bound - step + (1 if ann is int else 0),
             "le": bound + step, "lt": bound + step - (1 if ann is int else 0)}[side]
    if side == "gt" and draw(st.booleans()):
        value = bound  # the bound itself is excluded too
    if side == "lt" and draw(st.booleans()):
        value = bound
    value = int(value) if ann is int else float(value)
    data = copy.deepcopy(BASES[base])
    get(data, path[:-1])[path[-1]] = value
    word = "greater than" if side in ("ge", "gt") else "less than"
    return case_from(f"{base}: {path} = {value!r} ({side} {bound})", data,
                     [shown(path, data), (word,)])


@st.composite
def bad_shares(draw: st.DrawFn) -> Case:
    """Shares, each in [0, 1], that do not sum to 1; permit outcomes summing above 1."""
    base = draw(bases)
    data = copy.deepcopy(BASES[base])
    kind = draw(st.sampled_from(["housing_on_arrival", "integration", "permits"]))

    def other(old: float) -> float:
        return draw(st.floats(0.0, 1.0).filter(lambda v: abs(v - old) > 1e-4))

    if kind == "housing_on_arrival":
        stream = draw(st.sampled_from(sorted(data["streams"])))
        shares = data["streams"][stream].setdefault(
            "housing_on_arrival", {"needs_shelter": 0.0, "friends_family": 0.5,
                                   "precarious_rental": 0.3, "stable_housing": 0.2})
        key = draw(st.sampled_from(sorted(shares)))
        shares[key] = new = other(shares[key])
        expect = [(f"streams.{stream}",), ("housing_on_arrival",), ("sum to 1",)]
    elif kind == "integration":
        weights = data.setdefault("integration", {}).setdefault(
            "weights", {d: 0.2 for d in DIMENSIONS})
        key = draw(st.sampled_from(sorted(weights)))
        weights[key] = new = other(weights[key])
        expect = [("integration",), ("weights",), ("sum to 1",)]
    else:
        keys = ("permit_to_pr", "permit_renewal", "permit_departure")
        values = draw(st.lists(st.floats(0.0, 1.0), min_size=3, max_size=3).filter(
            lambda v: sum(v) > 1 + 1e-6))
        data.setdefault("status", {}).update(dict(zip(keys, values, strict=True)))
        key = draw(st.sampled_from(keys))
        new = data["status"][key]
        expect = [("status",), (key,), ("<= 1",)]
    return case_from(f"{base}: {kind}: {key} = {new!r}", data, expect)


@st.composite
def shares_outside_unit_range(draw: st.DrawFn) -> Case:
    """Shares that sum to 1 but hold a negative share (so another is above 1), and negative
    destination pulls: probabilities and weights outside their range."""
    base = draw(bases)
    data = copy.deepcopy(BASES[base])
    kind = draw(st.sampled_from(["housing_on_arrival", "integration", "stream_weights"]))
    neg = draw(st.floats(0.01, 10.0))
    nan = draw(st.booleans())  # nan passes a "sums to 1" check written as abs(sum - 1) > tol
    if kind == "housing_on_arrival":
        stream = draw(st.sampled_from(sorted(data["streams"])))
        a, b = draw(st.lists(st.sampled_from(["needs_shelter", "friends_family",
                                              "precarious_rental", "stable_housing"]),
                             min_size=2, max_size=2, unique=True))
        shares = {k: 0.0 for k in ("needs_shelter", "friends_family", "precarious_rental",
                                   "stable_housing")}
        shares[a], shares[b] = (-neg, 1.0 + neg) if not nan else (float("nan"), 1.0)
        data["streams"][stream]["housing_on_arrival"] = shares
        expect = [(f"streams.{stream}",), ("housing_on_arrival",)]
    elif kind == "integration":
        a, b = draw(st.lists(st.sampled_from(DIMENSIONS), min_size=2, max_size=2, unique=True))
        weights = {d: 0.0 for d in DIMENSIONS}
        weights[a], weights[b] = (-neg, 1.0 + neg) if not nan else (float("nan"), 1.0)
        data.setdefault("integration", {})["weights"] = weights
        expect = [("integration",), ("weights",)]
    else:
        i = draw(st.integers(0, len(data["municipalities"]) - 1))
        stream = draw(st.sampled_from(STREAMS))
        data["municipalities"][i].setdefault("stream_weights", {})[stream] = (
            -neg if not nan else float("nan"))
        expect = [shown(("municipalities", i), data), ("stream_weights",), (stream,)]
    return case_from(f"{base}: {kind} with a share/weight of {-neg if not nan else 'nan'}",
                     data, expect)


REQUIRED = {
    # beds: one of refugee_program_beds (old name shelter_beds) or shelter_system_beds is
    # required, a rule of its own (tests/test_beds.py)
    "municipalities": ("name", "population", "rental_stock"),
    "agencies": ("name", "municipality", "staff_fte"),
    "grants": ("funder", "amount_per_year"),
    "shocks": ("stream",),
    "transfers": ("municipality", "amount"),
    "timeline": ("set",),
}


@st.composite
def missing_keys(draw: st.DrawFn) -> Case:
    base = draw(bases)
    data = copy.deepcopy(BASES[base])
    places = [((), "municipalities")]
    for path, v in nodes(data):
        if isinstance(path[-1], int) and isinstance(v, dict):
            for key in REQUIRED.get(str(path[-2]), ()):
                places.append((path, key))
    item, key = draw(st.sampled_from(places))
    del get(data, item)[key]
    return case_from(f"{base}: drop {item}.{key}", data,
                     [shown((*item, key), data), ("required key is missing",)])


def _typos(word: str) -> st.SearchStrategy[str]:
    letters = string.ascii_lowercase + "_"
    i = st.integers(0, len(word) - 1)
    return st.one_of(
        st.builds(lambda i, c: word[:i] + c + word[i + 1:], i, st.sampled_from(letters)),
        st.builds(lambda i: word[:i] + word[i + 1:], i),
        st.builds(lambda i, c: word[:i] + c + word[i:], st.integers(0, len(word)),
                  st.sampled_from(letters)),
        st.builds(lambda i: word[:i] + word[i + 1:i + 2] + word[i:i + 1] + word[i + 2:], i),
    )


def _tables_with_keys(data: dict, *, literal_keys: bool) -> list[tuple]:
    """Tables of the schema: model tables, or tables keyed by a fixed set of names."""
    out = [()] if not literal_keys else []
    for path, v in nodes(data):
        if not isinstance(v, dict):
            continue
        ann, _ = schema_at(path)
        if _is_model(ann) and not literal_keys:
            out.append(path)
        elif typing.get_origin(ann) is dict and allowed_keys(path) is not None and literal_keys:
            out.append(path)
    return out


@st.composite
def misspelt_keys(draw: st.DrawFn, literal_keys: bool) -> Case:
    """Rename an existing key with a one-letter typo, or add an unknown key."""
    base = draw(bases)
    data = copy.deepcopy(BASES[base])
    tables = [p for p in _tables_with_keys(data, literal_keys=literal_keys) if get(data, p)]
    path = draw(st.sampled_from(tables))
    table = get(data, path)
    known = allowed_keys(path)
    if draw(st.booleans()):
        old = draw(st.sampled_from(sorted(table)))
        new = draw(_typos(old).filter(lambda k: k not in known and k not in table))
        # keep the key's place in the table
        items = [(new if k == old else k, v) for k, v in table.items()]
        table.clear()
        table.update(items)
        expect = [shown((*path, new), data), ("did you mean",)]
        what = f"{base}: {path}: {old} -> {new}"
    else:
        new = draw(any_text.filter(
            lambda k: k not in known and k not in table and k not in ("remove", "extends")))
        table[new] = draw(st.one_of(st.integers(-5, 5), st.text(max_size=5), st.booleans(),
                                    st.just({"a": 1})))
        expect = [shown((*path, new), data)]
        what = f"{base}: {path}: add {new!r}"
    return case_from(what, data, expect)


@st.composite
def broken_references(draw: st.DrawFn) -> Case:
    base = draw(bases)
    data = copy.deepcopy(BASES[base])
    bad = draw(st.one_of(st.sampled_from(["Metropolis", "metro", "Metro ", "", "Town2"]),
                         any_text).filter(lambda n: n not in NAMES))
    if draw(st.booleans()):
        i = draw(st.integers(0, len(data["agencies"]) - 1))
        data["agencies"][i]["municipality"] = bad
        where = f"agencies[{data['agencies'][i]['name']}].municipality"
    else:
        i = draw(st.integers(0, len(data["transfers"]) - 1))
        data["transfers"][i]["municipality"] = bad
        where = f"transfers[{i}].municipality"
    return case_from(f"{base}: {where} = {bad!r}", data,
                     [(where,), (repr(bad),), ("not a municipality",)])


def _is_toml(text: str) -> bool:
    try:
        tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return False
    return True


TEXTS = {b: toml_text(BASES[b]) for b in BASES} | {
    "show": to_toml(Scenario.model_validate(SMALL))}


@st.composite
def malformed_toml(draw: st.DrawFn) -> Case:
    name = draw(st.sampled_from(sorted(TEXTS)))
    text = TEXTS[name]
    if draw(st.booleans()):
        cut = draw(st.integers(0, len(text) - 1))
        text, what = text[:cut], f"{name}: cut at {cut}"
    else:
        edits = draw(st.lists(st.tuples(st.integers(0, len(text)),
                                        st.sampled_from(list('[]{}"\'=,.#\n') + ['"""', "[["])),
                              min_size=1, max_size=3))
        for at, junk in sorted(edits, reverse=True):
            text = text[:at] + junk + text[at:]
        what = f"{name}: insert {edits}"
    assume(not _is_toml(text))
    return Case(what, text.encode(), [("not valid TOML",), ("line", "end of document")])


@st.composite
def junk_files(draw: st.DrawFn) -> Case:
    content = draw(st.one_of(
        st.sampled_from([b"", b"\n", b"   \n\t\n", b"# only a comment\n", b"\x00",
                         b"\xef\xbb\xbf", b"\xff\xfe\x00\x00", b"\x80abc"]),
        st.binary(max_size=200),
        st.binary(max_size=60).map(lambda b: TEXTS["small"].encode()[:300] + b),
    ))
    return Case(f"bytes {content[:80]!r}", content)


def _settable_paths(data: dict) -> list[tuple[str, tuple]]:
    """(timeline path, raw-data path) of parameters a timeline may change."""
    out = []
    for path, _ in nodes(data):
        if path[0] in FIXED_DURING_RUN or path[0] == "shocks" or "grants" in path:
            continue
        if isinstance(path[-1], int) and not (len(path) == 2 and path[0] in NAMED_LISTS):
            continue  # list items (not parameters themselves)
        if len(path) == 2 and path[0] in NAMED_LISTS:
            continue  # a whole municipality or agency
        if str(path[-1]) in FIXED_FIELDS:
            continue
        ann, _ = schema_at(path)
        if ann is None or not _wrong_values(ann):
            continue
        parts = [get(data, path[:i + 1])["name"] if isinstance(p, int) else p
                 for i, p in enumerate(path)]
        out.append((".".join(parts), path))
    return out


SETTABLE = _settable_paths(FULL)


@st.composite
def bad_timelines(draw: st.DrawFn) -> Case:
    base = draw(bases)
    data = copy.deepcopy(BASES[base])
    timeline = data.setdefault("timeline", [])
    i = len(timeline)
    kind = draw(st.sampled_from(["bad value", "unknown path", "path into a value",
                                 "fixed path", "bad entry"]))
    entry: dict[str, Any] = {"week": draw(st.integers(0, 19))}
    expect: list[tuple[str, ...]] = [(f"timeline[{i}]",)]
    if kind == "bad value":
        key, path = draw(st.sampled_from(SETTABLE))
        ann, info = schema_at(path)
        limits = _limits(info)
        choices = list(_wrong_values(ann))
        if "ge" in limits:
            choices.append(limits["ge"] - 1)
        if "le" in limits:
            choices.append(limits["le"] + 1)
        entry["set"] = {key: draw(st.sampled_from(choices))}
        expect.append((key, *shown(path, FULL)))
    elif kind == "unknown path":
        key, _ = draw(st.sampled_from(SETTABLE))
        parts = key.split(".")
        j = draw(st.integers(0, len(parts) - 1))
        parts[j] = draw(_typos(parts[j]).filter(lambda p: p != parts[j] and "." not in p))
        if parts[j] in FIXED_DURING_RUN or parts[-1] in FIXED_FIELDS:
            parts[j] += "x"
        assume(".".join(parts) not in {k for k, _ in SETTABLE})
        entry["set"] = {".".join(parts): 1}
        expect.append((parts[j],))
    elif kind == "path into a value":
        key, path = draw(st.sampled_from(SETTABLE))
        assume(not isinstance(get(FULL, path), dict | list))
        extra = draw(st.sampled_from(["x", "value", "min"]))
        entry["set"] = {f"{key}.{extra}": 1}
        expect.append((f"{key}.{extra}", key))
    elif kind == "fixed path":
        key = draw(st.sampled_from(["run.weeks", "scenario.name", "municipalities.Metro.name",
                                    "agencies.ISA.municipality", "agencies.ISA.grants",
                                    "municipalities.Town.reserves", "timeline", "transfers"]))
        entry["set"] = {key: 1}
        expect.append((key,))
    else:
        # (an entry after the run ends is not an error: it never applies, so that
        # shortening a run with --weeks keeps a scenario valid)
        entry_kind = draw(st.sampled_from(["no when", "both", "no set", "set not table",
                                           "empty path"]))
        if entry_kind == "no when":
            del entry["week"]
            expect.append(("week",))
        elif entry_kind == "both":
            entry["date"] = date(2023, 3, 6)
            expect.append(("week",))
        elif entry_kind == "set not table":
            entry["set"] = draw(st.sampled_from([1, "housing.search_rate=0.1", [1], True]))
            expect.append(("set",))
        elif entry_kind == "empty path":
            bad = draw(st.sampled_from(["", ".", "housing.", ".search_rate", "[]", '""']))
            entry["set"] = {bad: 1}
            expect.append(("set",))
        if entry_kind not in ("no set", "set not table", "empty path"):
            entry.setdefault("set", {"housing.search_rate": 0.1})
        kind = f"{kind} ({entry_kind})"
    timeline.append(entry)
    return case_from(f"{base}: {kind}: timeline[{i}] = {entry!r}", data, expect)


@st.composite
def bad_extends(draw: st.DrawFn) -> Case:
    base = draw(bases)
    data = copy.deepcopy(BASES[base])
    target = draw(st.one_of(
        st.builds(lambda s: f"missing-{s}.toml",
                  st.text(string.ascii_letters + string.digits + "_-", max_size=8)),
        st.sampled_from(["missing/base.toml", "../missing-base.toml", BAD_FILE,
                         "", ".", "..", "sub", "/"]),
        st.integers(), st.booleans(), st.just(["base.toml"]), st.just({"file": "base.toml"}),
    ))
    data = {"extends": target, **data}
    expect: list[tuple[str, ...]] = [("extends",)]
    if isinstance(target, str) and target:
        expect.append((target if target != BAD_FILE else "itself",))
    return case_from(f"{base}: extends = {target!r}", data, expect,
                     files={**BASE_FILES, "sub/other.toml": b""})


@st.composite
def bad_series_files(draw: st.DrawFn) -> Case:
    """A stream's observed series names a missing file, a folder, junk or a bad CSV."""
    base = draw(bases)
    data = copy.deepcopy(BASES[base])
    stream = draw(st.sampled_from(sorted(data["streams"])))
    spec = data["streams"][stream].setdefault("series", {"file": "arrivals.csv"})
    files = {**BASE_FILES, "sub/other.csv": CSV}
    kind = draw(st.sampled_from(["missing", "folder", "junk", "bad csv"]))
    if kind == "missing":
        spec["file"] = draw(st.builds(lambda s: f"missing-{s}.csv",
                                      st.text(string.ascii_letters + "_-", max_size=8)))
    elif kind == "folder":
        spec["file"] = draw(st.sampled_from(["", ".", "..", "sub", "/"]))
    else:
        spec["file"] = "observed.csv"
        if kind == "junk":
            files["observed.csv"] = draw(st.binary(max_size=100))
        else:
            files["observed.csv"] = draw(st.sampled_from([
                "month,value\n", "when,value\n2023-01,1\n", "month,count\n2023-01,1\n",
                "month,value\n2023-01,-5\n", "month,value\n2023-01,many\n",
                "month,value\nsometime,1\n", "month,value\n2023-13,1\n",
                "month,value\n2023-01,1\n2023-03,1\n",
                'month,value\n"2023-01,1\n', "month;value\n2023-01;1\n"])).encode()
            spec.pop("where", None)
    return case_from(f"{base}: {kind}: streams.{stream}.series = {spec!r}", data,
                     [(f"streams.{stream}.series",)], files=files)


# ---------------------------------------------------------------- the check


def _note(text: str) -> None:
    if currently_in_test_context():
        note(text)
    else:
        print(text)  # shown by pytest when the test fails


def check_rejected(capsys: pytest.CaptureFixture[str], case: Case) -> None:
    """``reception validate`` on the case: exit 2, only clear error lines, nothing written."""
    _note(f"{case.what}\n--- {BAD_FILE} ---\n{case.content.decode('utf-8', 'replace')}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        path = folder / BAD_FILE
        for name, content in case.files.items():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / name).write_bytes(content)
        path.write_bytes(case.content)
        before = sorted(folder.rglob("*"))
        capsys.readouterr()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            code = main(["validate", str(path)])
        out, err = capsys.readouterr()
        _note(f"exit {code}\nstdout: {out!r}\nstderr: {err!r}")
        assert code == 2
        assert "Traceback" not in err
        assert err.strip(), "no error message"
        lines = err.rstrip("\n").split("\n")
        prefix = f"error: {path}: " if case.main_file_errors_only else "error: "
        assert all(line.startswith(prefix) for line in lines), lines
        assert out == ""
        assert not caught, [str(w.message) for w in caught]
        if case.expect:
            # keys holding line breaks are shown escaped, so each problem stays one line
            def shown(text: str) -> str:
                return text.replace("\r", "\\r").replace("\n", "\\n")

            assert any(all(any(shown(s) in line for s in group) for group in case.expect)
                       for line in lines), (case.expect, lines)
        assert sorted(folder.rglob("*")) == before


# ---------------------------------------------------------------- the properties


def test_bases_are_valid_and_round_trip(capsys):
    for name, data in BASES.items():
        assert tomllib.loads(toml_text(data)) == data, name
        assert MUTABLE[name], name
        assert RANGED[name], name
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "arrivals.csv").write_bytes(CSV)
        for name, text in TEXTS.items():
            path = Path(tmp) / f"{name}.toml"
            path.write_text(text)
            assert main(["validate", str(path)]) == 0, capsys.readouterr().err
    assert len(SETTABLE) > 50


@FUZZ
@given(case=wrong_types())
def test_wrong_type_names_the_key(capsys, case):
    check_rejected(capsys, case)


@FUZZ
@given(case=out_of_range())
def test_out_of_range_number_names_the_key(capsys, case):
    check_rejected(capsys, case)


@FUZZ
@given(case=bad_shares())
def test_shares_not_summing_to_one(capsys, case):
    check_rejected(capsys, case)


@FUZZ
@given(case=shares_outside_unit_range())
def test_negative_or_nan_shares_and_weights_are_rejected(capsys, case):
    check_rejected(capsys, case)


@FUZZ
@given(case=missing_keys())
def test_missing_required_key(capsys, case):
    check_rejected(capsys, case)


@FUZZ
@given(case=misspelt_keys(literal_keys=False))
def test_unknown_or_misspelt_key(capsys, case):
    check_rejected(capsys, case)


@FUZZ
@given(case=misspelt_keys(literal_keys=True))
def test_unknown_or_misspelt_name_in_a_keyed_table(capsys, case):
    """Stream, housing-state, funder and dimension names are keys too."""
    check_rejected(capsys, case)


@FUZZ
@given(case=broken_references())
def test_broken_reference(capsys, case):
    check_rejected(capsys, case)


@FUZZ
@given(case=malformed_toml())
def test_malformed_toml(capsys, case):
    check_rejected(capsys, case)


@FUZZ
@given(case=junk_files())
def test_empty_file_and_binary_junk(capsys, case):
    check_rejected(capsys, case)


@FUZZ
@given(case=bad_timelines())
def test_bad_timeline_entry(capsys, case):
    check_rejected(capsys, case)


@FUZZ
@given(case=bad_series_files())
def test_series_file_problems(capsys, case):
    check_rejected(capsys, case)


@FUZZ
@given(case=bad_extends())
def test_extends_pointing_nowhere(capsys, case):
    case.main_file_errors_only = False
    check_rejected(capsys, case)


# ---------------------------------------------------------------- nonsense (issue 16)

UNITS = {b: [p for p in RANGED[b] if (schema_at(p)[1].json_schema_extra or {}).get(
    "unit", "-") not in ("-", "")] for b in BASES}


@st.composite
def absurd_magnitudes(draw: st.DrawFn) -> Case:
    """A number far beyond its plausible range (1e12 people, 1e-300, 1e308): its unit named."""
    base = draw(bases)
    path = draw(st.sampled_from(UNITS[base]))
    ann, info = schema_at(path)
    limits = _limits(info)
    side = draw(st.sampled_from(sorted(limits)))
    big = draw(st.sampled_from([1e12, 1e30, 1e308]))
    value = limits[side] + big if side in ("le", "lt") else limits[side] - big
    if side in ("ge", "gt") and limits[side] > 0 and draw(st.booleans()):
        value = limits[side] * 1e-300  # absurdly small, still positive
    value = int(value) if ann is int else float(value)
    data = copy.deepcopy(BASES[base])
    get(data, path[:-1])[path[-1]] = value
    return case_from(f"{base}: {path} = {value!r}", data,
                     [shown(path, data), (str(info.json_schema_extra["unit"]),)])


@st.composite
def empty_windows(draw: st.DrawFn) -> Case:
    """A grant or shock whose end comes at or before its start."""
    base = draw(bases)
    data = copy.deepcopy(BASES[base])
    start = draw(st.integers(1, 300))
    end = draw(st.integers(1, start))
    if draw(st.booleans()):
        grant = data["agencies"][1]["grants"][0]
        grant.update(start_week=start, end_week=end)
        return case_from(f"{base}: grant {start}..{end}", data,
                         [("agencies[Town Help].grants[0]",), ("end_week",)])
    data["shocks"] = [{"stream": "asylum_claimant", "start_week": start, "end_week": end}]
    return case_from(f"{base}: shock {start}..{end}", data, [("shocks[0]",), ("end",)])


@st.composite
def zero_weights(draw: st.DrawFn) -> Case:
    """Every municipality's pull on a stream with arrivals is 0: its arrivals would vanish."""
    base = draw(bases)
    data = copy.deepcopy(BASES[base])
    stream = draw(st.sampled_from(sorted(data["streams"])))
    for m in data["municipalities"]:
        if draw(st.booleans()):  # the other streams keep a pull of their own
            m["destination_weight"] = 0.0
            m["stream_weights"] = {s: 1.0 for s in data["streams"] if s != stream}
        else:
            m.setdefault("stream_weights", {})[stream] = 0.0
    return case_from(f"{base}: no destination for {stream}", data,
                     [(f"streams.{stream}",), ("weight",)])


BLANKS = ["", " ", "\t", "\u200b", "\u3000"]  # empty, spaces, zero-width, ideographic
SAME_AS_METRO = ["metro", "METRO", "Metro ", "\uff2detro", "M\u0065tro".upper()]


@st.composite
def bad_names(draw: st.DrawFn) -> Case:
    """A blank name, or one equal to another after Unicode normalisation and case."""
    base = draw(bases)
    data = copy.deepcopy(BASES[base])
    kind = draw(st.sampled_from(["municipalities", "agencies"]))
    if draw(st.booleans()):
        data[kind][1]["name"] = draw(st.sampled_from(BLANKS))
        return case_from(f"{base}: blank {kind} name", data, [(f"{kind}[1].name",),
                                                                 ("visible",)])
    first = data[kind][0]["name"]
    data[kind][1]["name"] = draw(st.sampled_from(
        SAME_AS_METRO if first == "Metro" else [first.lower(), first.upper(), f" {first}"]))
    return case_from(f"{base}: {kind} names alike", data, [(kind,), ("unique",)])


@st.composite
def oversized(draw: st.DrawFn) -> Case:
    """Nesting beyond the depth limit, or an array beyond the entry limit."""
    data = copy.deepcopy(SMALL)
    if draw(st.booleans()):
        depth = draw(st.integers(17, 3000))
        text = toml_text(data) + "\n[extra]\nv = " + "[" * depth + "]" * depth + "\n"
        return Case(f"nested {depth} deep", text.encode(), [("RECEPTION_MAX_DEPTH",)])
    n = draw(st.integers(2001, 2500))
    data["shocks"] = [dict(data["shocks"][0]) for _ in range(n)]
    return case_from(f"{n} shocks", data, [("shocks",), ("RECEPTION_MAX_ITEMS",)])


HOSTILE = settings(FUZZ, max_examples=40)


@HOSTILE
@given(case=st.one_of(absurd_magnitudes(), empty_windows(), zero_weights(), bad_names(),
                      oversized()))
def test_nonsense_is_refused_naming_the_key(capsys, case):
    check_rejected(capsys, case)


# Failures the fuzzing met that its derandomized runs do not always reach (a property stops
# at its first failure): kept as fixed cases so they stay checked.
FOUND = {
    "newline in an unknown key": case_from(
        "municipalities[Metro] gets a key 'shelter\\nbeds'",
        {**SMALL, "municipalities": [{**SMALL["municipalities"][0], "shelter\nbeds": 200},
                                     SMALL["municipalities"][1]]},
        [("municipalities[Metro].shelter",)]),
    "timeline sets a share to a string": case_from(
        "timeline sets streams.asylum_claimant.housing_on_arrival.needs_shelter = 'five'",
        {**SMALL, "timeline": [{"week": 3, "set": {
            "streams.asylum_claimant.housing_on_arrival.needs_shelter": "five"}}]},
        [("timeline[0]",), ("needs_shelter",)]),
}


@pytest.mark.parametrize("label", sorted(FOUND))
def test_found_by_fuzzing(capsys, label):
    check_rejected(capsys, FOUND[label])


# ---------------------------------------------------------------- in a real process

REAL = {
    "cut TOML": TEXTS["small"][: TEXTS["small"].index("population") + 5],
    "wrong type": toml_text({**SMALL, "municipalities": [
        {**SMALL["municipalities"][0], "shelter_beds": "many"}, SMALL["municipalities"][1]]}),
}


@pytest.mark.parametrize("label", sorted(REAL))
def test_run_on_a_broken_file_writes_nothing(tmp_path, label):
    (tmp_path / BAD_FILE).write_text(REAL[label])
    (tmp_path / "arrivals.csv").write_bytes(CSV)
    r = subprocess.run([sys.executable, "-m", "sim.cli", "run", BAD_FILE, "--out", "out"],
                       capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr
    lines = r.stderr.rstrip("\n").split("\n")
    assert all(line.startswith(f"error: {BAD_FILE}: ") for line in lines), lines
    if label == "wrong type":
        assert any("municipalities[Metro].shelter_beds" in line for line in lines), lines
    assert sorted(p.name for p in tmp_path.iterdir()) == ["arrivals.csv", BAD_FILE]
