"""From an experiment file to a plan: base scenarios, design points, runs, seeds and a hash.

Everything here happens in the driver before anything runs or is written: the base
scenario(s) are resolved and validated, every factor path is checked against the base, every
level (or range end) and every design point is validated as a scenario, so a bad experiment
fails with a clear message instead of a sweep of failed runs.

Seed policy: replicate ``r`` of design point ``p`` runs with ``run.seed`` =
``SeedSequence(root_seed, spawn_key=(p, r)).generate_state(1, uint64)[0] >> 1`` (a 63-bit
non-negative integer, the range ``run.seed`` allows). It depends on ``(root_seed, p, r)``
only: never on the order runs execute in, the scheduler, or which worker runs them.
"""

from __future__ import annotations

import copy
import difflib
import hashlib
import inspect
import itertools
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel

from experiments.schema import (
    MAX_PROBLEMS,
    Comparison,
    Experiment,
    ExperimentError,
    Factorial,
    LatinHypercube,
    Sobol,
    key_path,
    read,
)
from sim import access, paths
from sim.params import Scenario
from sim.scenario import SCENARIO_DIR, Resolved, ScenarioError, resolve, validate_resolved
from sim.toml_lines import find_line

# Factor paths a design may not vary: the seed comes from the seed policy; these sections are
# lists addressed by position, which parameter paths cannot name.
SEED_PATH = "run.seed"
NOT_FACTORS = ("timeline", "transfers")  # shocks are factors by position: shocks.0.multiplier
# Validate the design points as scenarios up to this many before a sweep (a few ms each);
# --dry-run validates them all.
MAX_VALIDATED_POINTS = 20_000
# A sweep's plan and store hold every run in memory (about 1 kB each).
MAX_RUNS = 1_000_000


@dataclass(frozen=True)
class Point:
    """One design point: a base scenario and the overrides that make this point."""

    index: int
    scenario: str  # label: the scenario's name (comparisons: the entry's name)
    base: str  # key into Plan.bases
    sets: dict[str, Any]  # parameter path -> value, applied on top of the base
    factors: dict[str, Any]  # factor values shown as columns (empty for comparisons)


@dataclass(frozen=True)
class Run:
    run_id: str
    point: int
    replicate: int
    seed: int


@dataclass
class Plan:
    path: Path
    text: str
    experiment: Experiment
    name: str
    bases: dict[str, dict]  # key -> resolved, validated scenario data (JSON-able)
    base_files: dict[str, str]  # key -> scenario file it came from
    files: dict[str, str]  # observed-series CSV files: absolute path -> text
    points: list[Point]
    factor_names: list[str]
    hash: str = ""
    sobol_problem: dict | None = None
    unchecked: int = 0  # design points not validated before running (beyond the limit)
    _runs: list[Run] = field(default_factory=list, repr=False)

    @property
    def kind(self) -> str:
        return self.experiment.design.kind

    @property
    def replicates(self) -> int:
        return self.experiment.experiment.replicates

    @property
    def root_seed(self) -> int:
        return self.experiment.experiment.root_seed

    @property
    def keep(self) -> str:
        return self.experiment.outputs.keep

    def runs(self) -> list[Run]:
        """Every run, point by point, replicate by replicate."""
        if not self._runs:
            wp = max(4, len(str(len(self.points) - 1)))
            wr = max(3, len(str(self.replicates - 1)))
            common = self.experiment.experiment.seeds == "common"
            self._runs = [Run(f"p{p.index:0{wp}d}-r{r:0{wr}d}", p.index, r,
                              run_seed(self.root_seed, 0 if common else p.index, r))
                          for p in self.points for r in range(self.replicates)]
        return self._runs

    def spec(self, run: Run) -> dict:
        """Everything a worker needs to do ``run``, as plain JSON-able data."""
        point = self.points[run.point]
        base = self.bases[point.base]
        return {
            "experiment": self.name,
            "run_id": run.run_id,
            "point": run.point,
            "replicate": run.replicate,
            "seed": run.seed,
            "scenario": base,
            "sets": point.sets,
            "files": {f: t for f, t in self.files.items() if f in _series_files(base)},
            "keep": self.keep,
            "experiment_hash": self.hash,
            "labels": {"scenario": point.scenario, **point.factors},
        }


def run_seed(root_seed: int, point: int, replicate: int) -> int:
    """The seed policy: ``run.seed`` of replicate ``replicate`` of design point ``point``."""
    state = np.random.SeedSequence(root_seed, spawn_key=(point, replicate)).generate_state(
        1, dtype=np.uint64)
    return int(state[0] >> np.uint64(1))


# ---------------------------------------------------------------------------- the plan
def load_plan(path: Path, check_all: bool = False) -> Plan:
    """Read, validate and expand an experiment file, or raise ``ExperimentError``.

    Design points are validated as scenarios up to ``MAX_VALIDATED_POINTS`` (the rest when
    they run: ``Plan.unchecked`` counts them), or all of them with ``check_all``.
    """
    path = Path(path)
    unchecked = 0
    exp, text = read(path)
    name = exp.experiment.name or path.stem
    design = exp.design
    problems: list[str] = []
    problems += _check_sets(exp.base.sets, "base.sets", text)

    bases: dict[str, dict] = {}
    base_files: dict[str, str] = {}
    points: list[Point] = []
    if isinstance(design, Comparison):
        for i, entry in enumerate(design.scenarios):
            label = entry.name or Path(entry.file).stem
            where = f"design.scenarios[{i}]"
            sub = _check_sets(entry.sets, f"{where}.sets", text)
            problems += sub
            file = _locate(path, entry.file, f"{where}.file", text, problems)
            if file is None or sub:
                continue
            # the comparison's own sets are validated here, with the common ones
            model = _load_base(path, text, file, exp.base.sets, entry.sets, where, problems)
            if model is None:
                continue
            bases[label], base_files[label] = _dump(model), str(file)
            points.append(Point(i, label, label, dict(entry.sets), {}))
        if problems:
            raise ExperimentError(path, _cap(problems))
        factor_names: list[str] = []
    else:
        assert exp.base.scenario is not None
        file = _locate(path, exp.base.scenario, "base.scenario", text, problems)
        model = None
        if file is not None:
            model = _load_base(path, text, file, exp.base.sets, {}, "base", problems)
        if model is None or problems:
            raise ExperimentError(path, _cap(problems))
        bases["base"], base_files["base"] = _dump(model), str(file)
        table = "factors" if isinstance(design, Factorial) else "ranges"
        factor_names = list(getattr(design, table))
        kinds = {}
        for f in factor_names:
            kind, problem = _check_factor(model, f)
            if problem:
                line = find_line(text, ["design", table, f])
                problems.append(f"{_at(line)}design.{table}.{key_path([f])}: {problem}")
            else:
                kinds[f] = kind
        too_big = _check_size(design, exp.experiment.replicates, text)
        problems += too_big
        if not too_big:  # each level costs a validation: not for a design too big to run
            problems += _check_levels(design, kinds, bases["base"], text)
        if problems:
            raise ExperimentError(path, _cap(problems))
        label = model.scenario.name
        values = _design_values(design, kinds)
        points = [Point(i, label, "base", dict(zip(factor_names, row, strict=True)),
                        dict(zip(factor_names, row, strict=True)))
                  for i, row in enumerate(values)]
        limit = None if check_all else MAX_VALIDATED_POINTS
        problems += _check_points(points, bases["base"], limit)
        unchecked = max(0, len(points) - limit) if limit is not None else 0
        if problems:
            raise ExperimentError(path, _cap(problems))

    files = {}
    for base in bases.values():
        for f in _series_files(base):
            try:
                files[f] = Path(f).read_text(encoding="utf-8")
            except OSError as e:
                raise ExperimentError(path, [f"observed series {f}: cannot read: {e}"]) from None
    plan = Plan(path=path, text=text, experiment=exp, name=name, bases=bases,
                base_files=base_files, files=files, points=points, factor_names=factor_names,
                unchecked=unchecked)
    if isinstance(design, Sobol):
        plan.sobol_problem = _sobol_problem(design)
    plan.hash = experiment_hash(plan)
    return plan


def experiment_hash(plan: Plan) -> str:
    """sha256 of the experiment file, the resolved base scenario(s) and the design points.

    Observed series count by content. The points are included so that a sampler that
    draws differently (another SciPy or SALib version) cannot mix two designs in one folder.
    """
    h = hashlib.sha256()
    h.update(b"reception-sweep/1\0")
    h.update(plan.text.encode("utf-8"))
    for key in sorted(plan.bases):
        data = copy.deepcopy(plan.bases[key])
        for stream in (data.get("streams") or {}).values():
            series = stream.get("series") if isinstance(stream, dict) else None
            if isinstance(series, dict) and series.get("file") in plan.files:
                text = plan.files[series["file"]]
                series["file"] = "sha256:" + hashlib.sha256(text.encode()).hexdigest()
        h.update(b"\0" + key.encode() + b"\0")
        h.update(json.dumps(data, sort_keys=True, separators=(",", ":")).encode())
    points = [[p.index, p.scenario, p.base, p.sets] for p in plan.points]
    h.update(b"\0points\0" + json.dumps(points, sort_keys=True).encode())
    return h.hexdigest()


# ---------------------------------------------------------------------------- helpers
def _at(line: int | None) -> str:
    return f"line {line}: " if line else ""


def _cap(problems: list[str]) -> list[str]:
    if len(problems) <= MAX_PROBLEMS:
        return problems
    return [*problems[:MAX_PROBLEMS], f"... and {len(problems) - MAX_PROBLEMS} more problems"]


def _parts(where: str) -> list[Any]:
    """``design.scenarios[1].sets`` -> ``["design", "scenarios", 1, "sets"]``."""
    return [int(p) if p.isdigit() else p
            for p in where.replace("[", ".").replace("]", "").split(".") if p]


def _check_sets(sets: dict[str, Any], where: str, text: str) -> list[str]:
    problems = []
    for key in sets:
        if key.strip() == SEED_PATH:
            line = find_line(text, [*_parts(where), key])
            problems.append(f"{_at(line)}{where}.{key_path([key])}: the seed of each run comes "
                            "from experiment.root_seed (seed policy); remove it")
    return problems


def _locate(exp_path: Path, name: str, where: str, text: str,
            problems: list[str]) -> Path | None:
    """A scenario file named relative to the experiment file, or a bundled scenario."""
    found = paths.scenario_file(name, near=exp_path.parent)
    if found.is_file():
        refused = access.refusal(found, ".toml", access.roots_for(exp_path))
        if refused:
            problems.append(f"{_at(find_line(text, _parts(where)))}{where}: {refused}")
            return None
        return found
    line = find_line(text, _parts(where))
    problems.append(f"{_at(line)}{where}: {name!r} not found next to the experiment file "
                    f"({exp_path.parent}) or among the bundled scenarios ({SCENARIO_DIR})")
    return None


def _load_base(exp_path: Path, text: str, file: Path, common: dict[str, Any],
               own: dict[str, Any], where: str, problems: list[str]) -> Scenario | None:
    """Resolve ``file``, apply the experiment's sets, validate; problems name their origin."""
    before = len(problems)
    try:
        resolved = resolve(file, also=[exp_path])
    except ScenarioError as e:
        problems += [f"{where} ({e.path}): {p}" for p in e.problems]
        return None
    for table, sets in (("base.sets", common), (f"{where}.sets", own)):
        for key, value in sets.items():
            if key.strip() == SEED_PATH:
                continue  # reported by _check_sets
            line = find_line(text, [*_parts(table), key])
            try:
                paths.set_in_data(resolved.data, key, value)
            except (paths.PathError, TypeError, AttributeError) as e:
                problems.append(f"{_at(line)}{table}.{key_path([key])}: {e}")
                continue
            resolved.origins[tuple(paths.split(key))] = (
                f"{exp_path.name}:{line}" if line else exp_path.name)
    if len(problems) > before:
        return None
    resolved.data.setdefault("run", {})["progress"] = False
    try:
        return validate_resolved(resolved, file)
    except ScenarioError as e:
        problems += [f"{where} ({file}): {p}" for p in e.problems]
        return None


def _dump(model: Scenario) -> dict:
    data = model.model_dump(mode="json")
    data["run"]["progress"] = False
    return data


def _series_files(base: dict) -> list[str]:
    out = []
    for stream in (base.get("streams") or {}).values():
        series = stream.get("series") if isinstance(stream, dict) else None
        if isinstance(series, dict) and isinstance(series.get("file"), str):
            out.append(series["file"])
    return out


def _check_factor(model: Scenario, path: str) -> tuple[str, str | None]:
    """The kind of value at ``path`` (int, float, bool, str, other) or a problem."""
    try:
        parts = paths.split(path)
    except paths.PathError as e:
        return "other", str(e)
    if path.strip() == SEED_PATH:
        return "int", ("the seed of each run comes from experiment.root_seed (seed policy); "
                       "it cannot be a factor")
    if parts[0] in NOT_FACTORS:
        return "other", f"{parts[0]} entries cannot be addressed by a parameter path"
    try:
        holder, key = paths.resolve(model, path)
    except paths.PathError as e:
        msg = str(e).removeprefix(f"{path}: ")
        hint = "" if "did you mean" in msg else _did_you_mean(model, parts)
        return "other", f"{msg}{hint}"
    if isinstance(holder, BaseModel):
        annotation = type(holder).model_fields[key].annotation
        value = getattr(holder, key)
    else:
        annotation, value = None, holder.get(key)
    if annotation is bool or isinstance(value, bool):
        return "bool", None
    if annotation is int or (annotation is None and isinstance(value, int)):
        return "int", None
    if annotation is float or isinstance(value, float) or (
            annotation is None and isinstance(value, int | type(None))):
        return "float", None
    if annotation is str or isinstance(value, str):
        return "str", None
    if isinstance(value, int | float):
        return "float", None
    return "other", None


def _did_you_mean(model: Scenario, parts: list[str]) -> str:
    node: Any = model
    for part in parts:
        if isinstance(node, list):
            names = [str(getattr(it, "name", "")) for it in node]
            if part not in names:
                close = difflib.get_close_matches(part, names, n=1)
                return f"; did you mean {close[0]}?" if close else ""
            node = node[names.index(part)]
        elif isinstance(node, BaseModel):
            fields = list(type(node).model_fields)
            if part not in fields:
                close = difflib.get_close_matches(part, fields, n=1)
                return f"; did you mean {close[0]}?" if close else ""
            node = getattr(node, part)
        else:
            return ""
    return ""


def _validate_sets(base: dict, sets: dict[str, Any]) -> list[str]:
    """Problems of the base scenario with ``sets`` applied (empty: it validates)."""
    data = copy.deepcopy(base)
    for key, value in sets.items():
        try:
            paths.set_in_data(data, key, value)
        except (paths.PathError, TypeError, AttributeError) as e:
            return [str(e)]
    try:
        validate_resolved(Resolved(data), Path("design point"))
    except ScenarioError as e:
        return list(e.problems)
    return []


def _check_levels(design: Factorial | LatinHypercube | Sobol, kinds: dict[str, str],
                  base: dict, text: str) -> list[str]:
    """Each level (or range end) alone on the base scenario must be a valid scenario."""
    problems = []
    if isinstance(design, Factorial):
        for f, levels in design.factors.items():
            if f not in kinds:
                continue  # its path is wrong: reported already
            line = find_line(text, ["design", "factors", f])
            for level in levels:
                kind = kinds[f]
                if kind in ("int", "float") and (isinstance(level, bool)
                                                 or not isinstance(level, int | float)):
                    problems.append(f"{_at(line)}design.factors.{key_path([f])}: level "
                                    f"{level!r}: expected a number")
                    continue
                if kind == "int" and isinstance(level, float) and not level.is_integer():
                    problems.append(f"{_at(line)}design.factors.{key_path([f])}: level "
                                    f"{level!r}: expected a whole number")
                    continue
                for p in _validate_sets(base, {f: level}):
                    problems.append(f"{_at(line)}design.factors.{key_path([f])}: level "
                                    f"{level!r}: {p}")
        return problems
    for f, rng in design.ranges.items():
        if f not in kinds:
            continue
        line = find_line(text, ["design", "ranges", f])
        if kinds[f] not in ("int", "float"):
            problems.append(f"{_at(line)}design.ranges.{key_path([f])}: a range needs a "
                            f"numeric parameter ({f} is {kinds[f]}); list its values as "
                            "levels of a factorial design instead")
            continue
        for end in ("low", "high"):
            value = getattr(rng, end)
            if kinds[f] == "int":
                value = _to_int(value, rng)
            for p in _validate_sets(base, {f: value}):
                problems.append(f"{_at(line)}design.ranges.{key_path([f])}: {end} "
                                f"{getattr(rng, end)!r}: {p}")
    return problems


def _to_int(value: float, rng: Any) -> int:
    lo, hi = math.ceil(rng.low), math.floor(rng.high)
    return int(min(max(round(value), lo), hi)) if lo <= hi else int(round(value))


def _design_values(design: Factorial | LatinHypercube | Sobol,
                   kinds: dict[str, str]) -> list[tuple]:
    if isinstance(design, Factorial):
        levels = []
        for f, values in design.factors.items():
            if kinds[f] == "int":
                values = [int(v) if isinstance(v, float) else v for v in values]
            elif kinds[f] == "float":
                values = [float(v) if isinstance(v, int) and not isinstance(v, bool) else v
                          for v in values]
            levels.append(values)
        return list(itertools.product(*levels))
    names = list(design.ranges)
    if isinstance(design, LatinHypercube):
        unit = _latin_hypercube(len(names), design.samples, design.seed)
    else:
        unit = _sobol(design)
    rows = []
    for u in unit:
        row = []
        for f, x in zip(names, u, strict=True):
            rng = design.ranges[f]
            if rng.scale == "log":
                v = math.exp(math.log(rng.low) + float(x) * (math.log(rng.high)
                                                             - math.log(rng.low)))
            else:
                v = rng.low + float(x) * (rng.high - rng.low)
            v = min(max(v, rng.low), rng.high)
            row.append(_to_int(v, rng) if kinds[f] == "int" else float(v))
        rows.append(tuple(row))
    return rows


def _latin_hypercube(d: int, n: int, seed: int) -> np.ndarray:
    from scipy.stats import qmc

    params = inspect.signature(qmc.LatinHypercube).parameters
    # scipy >= 1.15 takes rng=, older versions seed= (both give the same stream for an int)
    key = "rng" if "rng" in params else "seed"
    return qmc.LatinHypercube(d=d, **{key: np.random.default_rng(seed)}).random(n)


def _sobol_problem(design: Sobol) -> dict:
    names = list(design.ranges)
    return {"num_vars": len(names), "names": names, "bounds": [[0.0, 1.0]] * len(names)}


def _sobol(design: Sobol) -> np.ndarray:
    import warnings

    from SALib.sample import sobol as sobol_sample

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SALib warns on non-powers of 2; we refuse those
        return sobol_sample.sample(_sobol_problem(design), design.base_samples,
                                   calc_second_order=design.calc_second_order,
                                   scramble=True, seed=design.seed)


def design_size(design: Factorial | LatinHypercube | Sobol) -> int:
    """The number of design points, counted without building them."""
    if isinstance(design, Factorial):
        return math.prod(len(levels) for levels in design.factors.values())
    if isinstance(design, LatinHypercube):
        return design.samples
    d = len(design.ranges)
    return design.base_samples * (2 * d + 2 if design.calc_second_order else d + 2)


def _check_size(design: Factorial | LatinHypercube | Sobol, replicates: int,
                text: str) -> list[str]:
    points = design_size(design)
    if points * replicates <= MAX_RUNS:
        return []
    line = find_line(text, ["design", "kind"])
    return [f"{_at(line)}design: {points:,} design points x {replicates:,} replicates = "
            f"{points * replicates:,} runs, more than the {MAX_RUNS:,} one sweep can hold; "
            "use fewer levels, samples or replicates, or split it into several experiments"]


def _check_points(points: list[Point], base: dict, limit: int | None) -> list[str]:
    """Design points (each combination of values) must validate as scenarios.

    Only the first ``limit`` points are checked (all if ``limit`` is None).
    """
    problems: list[str] = []
    seen: dict[str, list[str]] = {}
    for p in points[:limit]:
        key = json.dumps(p.sets, sort_keys=True)
        if key not in seen:
            seen[key] = _validate_sets(base, p.sets)
        for problem in seen[key]:
            shown = ", ".join(f"{k} = {v!r}" for k, v in p.sets.items())
            problems.append(f"design point {p.index} ({shown}): {problem}")
            if len(problems) > MAX_PROBLEMS:
                return problems
    return problems


def describe_points(plan: Plan, limit: int = 40) -> str:
    """A short table of the design points (for --dry-run and the sweep's header)."""
    lines = []
    for p in plan.points[:limit]:
        shown = ", ".join(f"{k} = {_fmt(v)}" for k, v in p.sets.items()) or "(no overrides)"
        lines.append(f"  point {p.index:>4}  {p.scenario}: {shown}")
    if len(plan.points) > limit:
        lines.append(f"  ... and {len(plan.points) - limit} more points")
    return "\n".join(lines)


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.6g}"
    return repr(v) if isinstance(v, str) else str(v)


__all__ = ["Plan", "Point", "Run", "describe_points", "design_size", "experiment_hash",
           "load_plan", "run_seed"]
