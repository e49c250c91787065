"""The experiment file: TOML validated by a strict pydantic schema, with friendly errors.

An experiment names a base scenario, fixed overrides (``sets``), a design (factorial levels,
Latin-hypercube or Sobol ranges, or named scenario comparisons), replicates, a root seed and
which outputs to keep. Errors name the file, the line where it is known, the key path and what
is wrong, and suggest the nearest known key for a misspelt one, as scenario errors do.
"""

from __future__ import annotations

import difflib
import math
import typing
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from sim.scenario import ScenarioError, drop_missing_explained_by_typos, read_toml
from sim.scenario import known_fields as known_fields_of
from sim.toml_lines import find_line

KINDS = ("factorial", "latin_hypercube", "sobol", "scenarios")
KEEP = ("summary", "weekly_totals", "weekly_municipalities")
MAX_PROBLEMS = 25


class ExperimentError(ScenarioError):
    """An experiment that cannot be run; ``problems`` holds one line per problem.

    A subclass of ``ScenarioError``, so code that reports scenario errors (one line per
    problem naming the file, exit status 2) reports these the same way.
    """


class Strict(BaseModel):
    """Unknown keys are errors: a misspelt key must never be silently ignored."""

    model_config = ConfigDict(extra="forbid")


Scalar = bool | int | float | str


def _flatten(value: Any, leaf: typing.Callable[[Any], bool] = lambda v: False) -> Any:
    """``{"a": {"b": 1}}`` -> ``{"a.b": 1}``: unquoted dotted TOML keys become paths.

    ``leaf(v)`` says whether a table is a value in itself (a range's ``{low, high}``).
    """
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}

    def walk(node: dict, prefix: str) -> None:
        for key, v in node.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            if isinstance(v, dict) and v and not leaf(v):
                walk(v, path)
            else:
                out[path] = v

    walk(value, "")
    return out


def _is_range_table(v: dict) -> bool:
    return bool({"low", "high", "scale"} & set(v))


class ExperimentInfo(Strict):
    name: str | None = Field(None, description="Short name (default: the file name)")
    question: str = Field("", description="The question the experiment answers")
    replicates: int = Field(1, ge=1, le=100_000,
                            description="Runs of each design point, each with its own seed")
    root_seed: int = Field(..., ge=0, le=2**63 - 1, description=(
        "Root of every run's seed: replicate r of design point p gets "
        "SeedSequence(root_seed, spawn_key=(p, r))"))
    seeds: Literal["per_point", "common"] = Field("per_point", description=(
        "per_point: every run its own seed; common: replicate r gets the same seed at every "
        "design point (common random numbers, so differences between points are paired)"))


class Base(Strict):
    scenario: str | None = Field(None, description=(
        "Base scenario file, relative to the experiment file (or a bundled scenario name)"))
    sets: dict[str, Any] = Field(default_factory=dict, description=(
        "Fixed overrides for every run: parameter path -> value"))

    @field_validator("sets", mode="before")
    @classmethod
    def _flat(cls, value: Any) -> Any:
        return _flatten(value)


class Outputs(Strict):
    keep: Literal[KEEP] = Field("summary", description=(  # type: ignore[valid-type]
        "summary: one row per run; weekly_totals: a row per run and week; "
        "weekly_municipalities: a row per run, week and municipality"))


class Range(Strict):
    low: float
    high: float
    scale: Literal["linear", "log"] = "linear"

    @model_validator(mode="before")
    @classmethod
    def _pair(cls, value: Any) -> Any:
        """``[low, high]`` is shorthand for ``{ low = .., high = .. }``."""
        if isinstance(value, list | tuple):
            if len(value) != 2:
                raise ValueError(f"expected [low, high] or {{ low = .., high = .. }}, found "
                                 f"{list(value)!r}")
            return {"low": value[0], "high": value[1]}
        return value

    @model_validator(mode="after")
    def _order(self) -> Range:
        if not (math.isfinite(self.low) and math.isfinite(self.high)):
            raise ValueError("low and high must be finite numbers")
        if not self.low < self.high:
            raise ValueError(f"low must be below high, found low = {self.low}, "
                             f"high = {self.high}")
        if self.scale == "log" and self.low <= 0:
            raise ValueError(f"a log scale needs low > 0, found {self.low}")
        return self


class Factorial(Strict):
    """Full factorial: every combination of the listed levels."""

    kind: Literal["factorial"]
    factors: dict[str, list[Scalar]] = Field(..., min_length=1)

    @field_validator("factors", mode="before")
    @classmethod
    def _flat(cls, value: Any) -> Any:
        return _flatten(value)

    @field_validator("factors")
    @classmethod
    def _levels(cls, factors: dict[str, list[Scalar]]) -> dict[str, list[Scalar]]:
        for path, levels in factors.items():
            if not levels:
                raise ValueError(f"{path}: give at least one level")
            if len({repr(v) for v in levels}) != len(levels):
                raise ValueError(f"{path}: levels repeat: {levels!r}")
        return factors


class _Ranged(Strict):
    """A design over ranges of parameters (nested tables are flattened to dotted paths)."""

    ranges: dict[str, Range] = Field(..., min_length=1)

    @field_validator("ranges", mode="before")
    @classmethod
    def _flat(cls, value: Any) -> Any:
        return _flatten(value, _is_range_table)


class LatinHypercube(_Ranged):
    """``samples`` design points spread over the ranges by a Latin hypercube."""

    kind: Literal["latin_hypercube"]
    samples: int = Field(..., ge=1, le=1_000_000)
    seed: int = Field(0, ge=0, description="Seed of the hypercube (not of the runs)")


class Sobol(_Ranged):
    """Saltelli's extension of the Sobol sequence (SALib) for Sobol sensitivity indices.

    ``base_samples`` N gives N * (2D + 2) points with second-order indices, N * (D + 2)
    without (D ranges).
    """

    kind: Literal["sobol"]
    base_samples: int = Field(..., ge=2, le=1_048_576)
    calc_second_order: bool = True
    seed: int = Field(0, ge=0, description="Seed of the scrambled Sobol sequence")

    @field_validator("base_samples")
    @classmethod
    def _power_of_two(cls, n: int) -> int:
        if n & (n - 1):
            lower = 1 << (n.bit_length() - 1)
            raise ValueError(f"must be a power of 2 for the Sobol sequence's balance "
                             f"(try {lower} or {lower * 2})")
        return n

    @model_validator(mode="after")
    def _second_order(self) -> Sobol:
        if self.calc_second_order and len(self.ranges) < 2:
            raise ValueError("second-order indices need at least two ranges "
                             "(or set calc_second_order = false)")
        return self


class ScenarioEntry(Strict):
    name: str | None = Field(None, description="Label in the outputs (default: file name)")
    file: str = Field(..., description="Scenario file, relative to the experiment file")
    sets: dict[str, Any] = Field(default_factory=dict)

    @field_validator("sets", mode="before")
    @classmethod
    def _flat(cls, value: Any) -> Any:
        return _flatten(value)


class Comparison(Strict):
    """Named scenarios compared side by side (each a design point)."""

    kind: Literal["scenarios"]
    scenarios: list[ScenarioEntry] = Field(..., min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> Comparison:
        names = [s.name or Path(s.file).stem for s in self.scenarios]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"scenario names must be unique, repeated: {dupes} "
                             "(give each a name)")
        return self


Design = Annotated[Factorial | LatinHypercube | Sobol | Comparison, Field(discriminator="kind")]
DESIGN_MODELS: dict[str, type[BaseModel]] = {
    "factorial": Factorial, "latin_hypercube": LatinHypercube, "sobol": Sobol,
    "scenarios": Comparison}


class Experiment(Strict):
    """A whole experiment file."""

    experiment: ExperimentInfo
    base: Base = Field(default_factory=Base)
    design: Design
    outputs: Outputs = Field(default_factory=Outputs)

    @model_validator(mode="after")
    def _base(self) -> Experiment:
        if self.design.kind == "scenarios":
            if self.base.scenario is not None:
                raise ValueError("base.scenario: a scenario comparison names its files in "
                                 "[[design.scenarios]]; remove base.scenario (base.sets still "
                                 "apply to every scenario)")
        elif self.base.scenario is None:
            raise ValueError(f"base.scenario: required for a {self.design.kind} design "
                             "(the scenario the factors change)")
        return self


# ---------------------------------------------------------------------------- loading
def read(path: Path) -> tuple[Experiment, str]:
    """Read and validate an experiment file, or raise ``ExperimentError`` with every problem."""
    path = Path(path)
    data, text = read_toml(path, ExperimentError)
    try:
        return Experiment.model_validate(data), text
    except ValidationError as e:
        errors = drop_missing_explained_by_typos(
            e.errors(), known=lambda loc: known_fields(loc, data),
            loc_of=lambda err: _clean_loc(err["loc"], data))
        problems = [_describe(err, data, text) for err in errors]
        raise ExperimentError(path, _cap(problems)) from None


def _cap(problems: list[str]) -> list[str]:
    if len(problems) <= MAX_PROBLEMS:
        return problems
    return [*problems[:MAX_PROBLEMS], f"... and {len(problems) - MAX_PROBLEMS} more problems"]


def _clean_loc(loc: tuple, data: dict) -> tuple:
    """Drop pydantic's union tag (``design.factorial.factors`` -> ``design.factors``)."""
    if len(loc) >= 2 and loc[0] == "design" and loc[1] in KINDS:
        return (loc[0], *loc[2:])
    return tuple(loc)


def _design_kind(data: dict) -> str | None:
    design = data.get("design")
    kind = design.get("kind") if isinstance(design, dict) else None
    return kind if kind in KINDS else None


def _describe(err: dict[str, Any], data: dict, text: str) -> str:
    loc = _clean_loc(err["loc"], data)
    kind = err["type"]
    msg = err["msg"].removeprefix("Value error, ")
    # model-level checks name their key themselves ("base.scenario: ...")
    if not loc and ":" in msg.split(" ")[0]:
        key, _, rest = msg.partition(": ")
        line = find_line(text, key.split("."))
        return f"{_at(line)}{key}: {rest}"
    key = key_path(loc)
    line = find_line(text, [str(p) for p in loc if not isinstance(p, int)])
    prefix = _at(line)
    if kind == "union_tag_not_found":
        return (f"{prefix}{key}.kind: required key is missing (one of "
                f"{', '.join(KINDS)})")
    if kind == "union_tag_invalid":
        found = err.get("ctx", {}).get("tag")
        close = difflib.get_close_matches(str(found), KINDS, n=1)
        hint = f"; did you mean {close[0]}?" if close else ""
        return (f"{_at(find_line(text, ['design', 'kind']))}{key}.kind: unknown design kind "
                f"{found!r} (expected one of {', '.join(KINDS)}){hint}")
    if kind == "extra_forbidden":
        known = known_fields(loc[:-1], data)
        close = difflib.get_close_matches(str(loc[-1]), known, n=1)
        hint = f"; did you mean {close[0]}?" if close else ""
        return f"{prefix}{key}: unknown key{hint}"
    if kind == "missing":
        return f"{prefix}{key}: required key is missing"
    found = err.get("input")
    shown = "" if isinstance(found, dict | list) else f" (found {found!r})"
    return f"{prefix}{key}: {msg}{shown}"


def _at(line: int | None) -> str:
    return f"line {line}: " if line else ""


def key_path(loc: typing.Sequence[Any]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            text = str(part)
            shown = f'"{text}"' if "." in text else text
            out += f".{shown}" if out else shown
    return out or "(top level)"


def known_fields(loc: tuple, data: dict) -> list[str]:
    """Field names valid at ``loc``; under ``design`` those of the design's kind."""
    if loc and loc[0] == "design":
        kind = _design_kind(data)
        return known_fields_of(loc[1:], DESIGN_MODELS[kind]) if kind else ["kind"]
    return known_fields_of(loc, Experiment)


