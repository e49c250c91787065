"""Generate docs/parameters.md from the schema: ``python -m sim.paramdoc > docs/parameters.md``.

A test checks that the committed file is current, so the schema stays the single
source of truth for every parameter's type, range, default, unit and source.
"""

from __future__ import annotations

import typing
from datetime import date
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from sim.params import Scenario
from sim.params_base import RENAMED_KEYS

HEADER = """# Parameters

Generated from the scenario schema (`sim/params.py`) by `python -m sim.paramdoc`; do not edit
by hand. Paths are as written in scenario files and in `--set`; items of `municipalities` and
`agencies` are addressed by name (`municipalities.Toronto.refugee_program_beds`), items of
`shocks` by position from 0 (`shocks.0.multiplier`).

## Types: one rule for every field

A number or a boolean must be written as one: nothing is converted into
them. A string is never read as a number or a boolean (`progress = "false"` and `weeks = "52"`
are errors: write `progress = false`, `weeks = 52`), a boolean is never a number and a number
never a boolean (`progress = 1` is an error). Numbers convert between whole and decimal only
when nothing is lost (`scale = 5`, `weeks = 52.0`). Dates are TOML dates (`2023-01-02`) or the
same written as a string. The same rule holds
for `--set` values and timeline changes. Ranges below are plausibility limits: a value outside
them (a population of 1e12, a decision time of a million weeks) is an error naming its unit.
Names of municipalities and agencies must hold a visible character and be unique once Unicode
is normalised (NFKC) and case ignored; a grant's `end_week` must come after its `start_week`; a
stream with arrivals needs at least one municipality with a weight above 0.

## Limits on input files

Scenario, experiment and series files are read only if they are regular files (not a folder, a
device such as `/dev/zero`, or a FIFO) and within these limits, each raised by its environment
variable: `RECEPTION_MAX_FILE_MB` (default 5) megabytes per file, `RECEPTION_MAX_DEPTH` (default
16) levels of nested arrays and tables, `RECEPTION_MAX_ITEMS` (default 2000) entries in any one
array or table (so at most 2,000 municipalities). Before a run starts, `reception run` estimates
its peak migrant agents, memory and time (`reception validate` prints the estimate) and refuses
a run that would not fit in the machine's memory, naming the `run.scale` that would fit;
`--force` runs it anyway.
"""


def parameters_markdown() -> str:
    renamed = ", ".join(f"`{old}` means `{new}`" for old, new in RENAMED_KEYS.items())
    sections: list[str] = [HEADER, f"Old keys still read (with their old meaning): {renamed}.\n"]
    _section(Scenario, "", sections, seen=set())
    return "\n".join(sections).rstrip() + "\n"


def _section(model: type[BaseModel], prefix: str, out: list[str], seen: set) -> None:
    rows = []
    nested = []
    for name, field in model.model_fields.items():
        sub = _submodel(field.annotation)
        path = f"{prefix}{name}"
        if sub is not None:
            nested.append((sub, path + _container_suffix(field.annotation)))
            continue
        rows.append(_row(name, field))
    if rows:
        title = prefix.rstrip(".") or "top level"
        doc = (model.__doc__ or "").strip().splitlines()[0] if model.__doc__ else ""
        out.append(f"\n## `{title}`\n")
        if doc:
            out.append(f"{doc}\n")
        out.append("| key | type and range | default | unit | source | meaning |")
        out.append("|---|---|---|---|---|---|")
        out.extend(rows)
    for sub, path in nested:
        if (sub, path) not in seen:
            seen.add((sub, path))
            _section(sub, path + ".", out, seen)


def _container_suffix(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    if origin is list:
        return "[NAME]" if _has_name(annotation) else "[i]"
    if origin is dict:
        return ".KEY"
    return ""


def _has_name(annotation: Any) -> bool:
    sub = _submodel(annotation)
    return sub is not None and "name" in sub.model_fields


def _submodel(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return arg
    return None


def _row(name: str, field: FieldInfo) -> str:
    extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
    default = "required" if field.is_required() else _fmt(field.get_default(
        call_default_factory=True))
    cells = [f"`{name}`", _type(field), default, str(extra.get("unit", "")),
             str(extra.get("source", "")), field.description or ""]
    return "| " + " | ".join(c.replace("|", "\\|").replace("\n", " ") for c in cells) + " |"


def _type(field: FieldInfo) -> str:
    return _annotation_name(field.annotation) + _bounds(field.metadata)


def _bounds(metadata: typing.Iterable[Any]) -> str:
    """`` (>= 0, <= 2)`` from a field's or an annotated type's constraints ('' if none)."""
    bounds = []
    for m in metadata:
        for item in getattr(m, "metadata", [m]):  # a Field() inside Annotated holds its own
            for attr, sym in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<")):
                if getattr(item, attr, None) is not None:
                    bounds.append(f"{sym} {getattr(item, attr)}")
    return f" ({', '.join(bounds)})" if bounds else ""


def _annotation_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:  # a number inside a table (params_base.Number), bounded
        return _annotation_name(args[0]) + _bounds(args[1:])
    if origin is typing.Literal:
        return " \\| ".join(repr(a) for a in args)
    if origin is list:
        return f"list of {_annotation_name(args[0])}"
    if origin is dict:
        return f"table of {_annotation_name(args[0])} -> {_annotation_name(args[1])}"
    if args:  # a union such as int | None
        return " or ".join(_annotation_name(a) for a in args)
    return getattr(annotation, "__name__", str(annotation)).replace("NoneType", "none")


def _fmt(value: Any) -> str:
    if isinstance(value, BaseModel):
        return "(table)"
    if isinstance(value, date):
        return value.isoformat()
    text = repr(value) if not isinstance(value, str) else f'"{value}"'
    return text if len(text) <= 60 else text[:57] + "..."


if __name__ == "__main__":
    print(parameters_markdown(), end="")
