"""The planner's question: the smallest level of a lever that meets a target with a stated
probability (``reception plan``).

A target is ``OUTCOME OP VALUE`` (``mean_wait_language<8``): OUTCOME is a run-level outcome
(``analysis.outcomes.HEADLINE``, computed from the weekly rows of ``--city`` or of the system
totals) or ``agg(column)`` of any weekly column, agg one of mean, max, min, sum, end (the last
week) or weekN (the end of the run's N-th week); OP one of <, <=, >, >=.

Method (docs/analysis.md): every level is run with the same R replicate seeds
(``seed, seed+1, ..., seed+R-1``: common random numbers, so two levels differ by the lever and
not by the draws). A level *meets* the target when the share of replicates meeting it is at
least the probability (with ``conservative``: when the lower end of the share's 95% Wilson
interval is). Search: a coarse grid of ``grid`` levels over the range; the first grid level
that meets the target and the one before it bracket the answer, and bisection narrows the
bracket to ``tol``. The answer is the smallest level tried that meets the target; its
uncertainty is the share's Wilson interval there, the bracket (the largest level below it that
was tried and failed), and a bootstrap over replicates of the smallest level tried that meets
the target. The search assumes the share meeting the target does not fall as the lever rises
above the answer; grid levels that contradict this are reported.
"""

from __future__ import annotations

import math
import os
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis.compare import t_interval, wilson_interval
from analysis.outcomes import (
    EXTRA,
    HEADLINE,
    SYSTEM_ONLY,
    custom_column,
    custom_outcome,
    is_custom,
    weekly_outcomes,
)

OPS: dict[str, Callable[[np.ndarray, float], np.ndarray]] = {
    "<=": np.less_equal, ">=": np.greater_equal, "<": np.less, ">": np.greater}
_TARGET_RE = re.compile(r"^\s*(?P<lhs>.+?)\s*(?P<op><=|>=|<|>)\s*(?P<rhs>[^<>=]+?)\s*$")
BOOTSTRAP = 2000


class PlanError(Exception):
    """A bad planner question (one line for the user, exit status 2)."""


@dataclass(frozen=True)
class Target:
    outcome: str
    op: str
    threshold: float
    text: str

    def meets(self, values: np.ndarray | Sequence[float]) -> np.ndarray:
        """Which values meet the target (NaN never does)."""
        v = np.asarray(values, dtype=float)
        with np.errstate(invalid="ignore"):
            return np.isfinite(v) & OPS[self.op](v, self.threshold)

    def describe(self, city: str | None = None) -> str:
        where = f"in {city}" if city else "system-wide"
        what = HEADLINE.get(self.outcome, (None,))[0] or _custom_text(self.outcome)
        return f"{self.outcome} {self.op} {self.threshold:g} {where} ({what[0].lower()}{what[1:]})"


def _custom_text(expr: str) -> str:
    m = re.match(r"(\w+)\((\w+)\)", expr.replace(" ", ""))
    if not m:
        return expr
    agg, col = m.groups()
    if agg.startswith("week"):
        return f"{col} at the end of the run's week {agg[4:]}"
    return {"end": f"{col} in the last week", "mean": f"mean weekly {col}",
            "max": f"largest weekly {col}", "min": f"smallest weekly {col}",
            "sum": f"{col} summed over weeks"}[agg]


def parse_target(text: str, city: str | None = None) -> Target:
    """``mean_wait_language<8`` -> Target; ``PlanError`` with a one-line reason otherwise."""
    m = _TARGET_RE.match(text or "")
    if not m:
        raise PlanError(f"--target {text!r}: expected OUTCOME OP VALUE with OP one of <, <=, "
                        ">, >=, e.g. \"mean_wait_language<8\"")
    lhs, op, rhs = m.group("lhs").replace(" ", ""), m.group("op"), m.group("rhs")
    try:
        threshold = float(rhs.replace("_", ""))
    except ValueError:
        raise PlanError(f"--target {text!r}: {rhs!r} is not a number") from None
    if not math.isfinite(threshold):
        raise PlanError(f"--target {text!r}: the value must be a finite number")
    known = [*HEADLINE, *EXTRA]
    if not is_custom(lhs) and lhs not in known:
        import difflib

        close = difflib.get_close_matches(lhs, known, n=1)
        hint = f"; did you mean {close[0]}?" if close else ""
        raise PlanError(f"--target {text!r}: unknown outcome {lhs!r}{hint} (outcomes: "
                        "docs/analysis.md; or agg(column) with agg one of mean, max, min, sum, "
                        "end, weekN and a weekly column)")
    if city and lhs in SYSTEM_ONLY:
        raise PlanError(f"--target {text!r}: {lhs} exists for system totals only; drop --city")
    return Target(lhs, op, threshold, text.strip())


def parse_range(text: str) -> tuple[float, float]:
    parts = (text or "").split(":")
    try:
        if len(parts) != 2:
            raise ValueError
        lo, hi = float(parts[0]), float(parts[1])
    except ValueError:
        raise PlanError(f"--range {text!r}: expected LOW:HIGH, e.g. 0.5:4") from None
    if not (math.isfinite(lo) and math.isfinite(hi)) or not lo < hi:
        raise PlanError(f"--range {text!r}: LOW must be below HIGH, both finite numbers")
    return lo, hi


def split_path(path: str) -> list[str]:
    """``a.b[c].d`` -> ``['a', 'b', 'c', 'd']`` (the syntax of ``--set``)."""
    path = re.sub(r"\[([^\]]+)\]", r".\1", path.strip())
    parts = [p.strip().strip('"').strip("'") for p in re.findall(r'"[^"]*"|[^.]+', path)]
    if not parts or any(p == "" for p in parts) or path.startswith(".") or path.endswith("."):
        raise PlanError(f"--lever {path!r}: not a parameter path (e.g. "
                        "funding.grant_factor.federal)")
    return parts


def lever_value(data: dict, lever: str) -> Any:
    """The current value of the parameter ``lever`` in dumped scenario data, or PlanError."""
    import difflib

    node: Any = data
    parts = split_path(lever)
    for i, part in enumerate(parts):
        where = ".".join(parts[:i]) or "the scenario"
        if isinstance(node, list):
            names = [str(item.get("name")) for item in node if isinstance(item, dict)]
            if part not in names:
                close = difflib.get_close_matches(part, names, n=1)
                hint = f"; did you mean {close[0]}?" if close else ""
                raise PlanError(f"--lever {lever}: {where} has no item named {part!r}{hint}")
            node = node[names.index(part)]
        elif isinstance(node, dict):
            if part not in node:
                close = difflib.get_close_matches(part, [str(k) for k in node], n=1)
                hint = f"; did you mean {close[0]}?" if close else ""
                raise PlanError(f"--lever {lever}: {part!r} is not a parameter of {where}{hint}")
            node = node[part]
        else:
            raise PlanError(f"--lever {lever}: {where} is a value, not a table")
    if isinstance(node, bool) or not isinstance(node, int | float):
        kind = "a table" if isinstance(node, dict | list) else type(node).__name__
        raise PlanError(f"--lever {lever}: not a numeric parameter (it is {kind}); a lever "
                        "must be a number")
    return node


# ---------------------------------------------------------------------------- the search
@dataclass
class Level:
    level: float
    values: np.ndarray  # the outcome per replicate (seed order)
    meets: np.ndarray  # bool per replicate
    order: int  # when it was evaluated (0, 1, ...)
    phase: str  # "grid" or "bisection"

    @property
    def k(self) -> int:
        return int(self.meets.sum())

    @property
    def n(self) -> int:
        return len(self.meets)

    @property
    def share(self) -> float:
        return self.k / self.n if self.n else math.nan

    def interval(self) -> tuple[float, float]:
        return wilson_interval(self.k, self.n)


@dataclass
class Search:
    """The outcome of ``find_level``."""

    levels: list[Level]
    answer: float | None  # smallest level tried that meets the target (None: none does)
    below: float | None  # largest level tried below the answer that fails (the bracket)
    boot: tuple[float, float] | None  # 90% bootstrap interval of the answer (inf: above range)
    warnings: list[str] = field(default_factory=list)

    def at(self, level: float | None) -> Level | None:
        for lv in self.levels:
            if level is not None and lv.level == level:
                return lv
        return None

    def table(self) -> pd.DataFrame:
        rows = []
        for lv in sorted(self.levels, key=lambda x: x.level):
            lo, hi = lv.interval()
            iv = t_interval(lv.values)
            rows.append({"level": lv.level, "phase": lv.phase, "order": lv.order, "runs": lv.n,
                         "meeting": lv.k, "share": lv.share, "share_low": lo, "share_high": hi,
                         "mean": iv.estimate, "ci_low": iv.low, "ci_high": iv.high})
        return pd.DataFrame(rows)


def _ok(lv: Level, probability: float, conservative: bool) -> bool:
    if conservative:
        return lv.interval()[0] >= probability
    return lv.share >= probability - 1e-12


def grid_levels(lo: float, hi: float, n: int, integer: bool) -> list[float]:
    values = np.linspace(lo, hi, max(2, n))
    if integer:
        return sorted({int(round(v)) for v in values})
    return [float(v) for v in values]


def find_level(evaluate: Callable[[list[float]], list[np.ndarray]], target: Target,
               lo: float, hi: float, probability: float, grid: int = 5,
               tol: float | None = None, integer: bool = False, conservative: bool = False,
               seed: int = 0, log: Callable[[str], None] | None = None) -> Search:
    """The smallest level in [lo, hi] whose replicates meet ``target`` with ``probability``.

    ``evaluate(levels)`` returns, for each level, the outcome of every replicate (the same
    replicate seeds at every level). See the module docstring for the method.
    """
    say = log or (lambda msg: None)
    tol = (hi - lo) / 100 if tol is None else tol
    levels: dict[float, Level] = {}

    def run(xs: list[float], phase: str) -> None:
        xs = [x for x in xs if x not in levels]
        if not xs:
            return
        for x, vals in zip(xs, evaluate(xs), strict=True):
            vals = np.asarray(vals, dtype=float)
            levels[x] = Level(x, vals, target.meets(vals), len(levels), phase)
            lv = levels[x]
            say(f"  level {x:.6g}: {lv.k}/{lv.n} replicates meet the target "
                f"({'meets' if _ok(lv, probability, conservative) else 'fails'})")

    coarse = grid_levels(lo, hi, grid, integer)
    run(coarse, "grid")
    warnings = []
    ok = [_ok(levels[x], probability, conservative) for x in coarse]
    if not any(ok):
        return Search(list(levels.values()), None, max(coarse), _bootstrap(
            levels, target, probability, conservative, seed), warnings)
    i = ok.index(True)
    if not all(ok[i:]):
        bad = [f"{x:.6g}" for x, good in zip(coarse[i:], ok[i:], strict=True) if not good]
        warnings.append(f"not monotone: grid level(s) {', '.join(bad)} above the first level "
                        f"that meets the target ({coarse[i]:.6g}) fail it; the answer is the "
                        "smallest level that meets it")
    if i == 0:
        answer, below = coarse[0], None
    else:
        a, b = coarse[i - 1], coarse[i]
        while (b - a > 1) if integer else (b - a > tol):
            m = (a + b) // 2 if integer else (a + b) / 2
            run([m], "bisection")
            if _ok(levels[m], probability, conservative):
                b = m
            else:
                a = m
        answer, below = b, a
    return Search(list(levels.values()), answer, below,
                  _bootstrap(levels, target, probability, conservative, seed), warnings)


def _bootstrap(levels: dict[float, Level], target: Target, probability: float,
               conservative: bool, seed: int) -> tuple[float, float] | None:
    """90% interval of the smallest level tried that meets the target, resampling replicates
    (the same resample at every level: the replicates are paired by seed)."""
    if not levels:
        return None
    xs = sorted(levels)
    meets = np.vstack([levels[x].meets for x in xs])  # levels x replicates
    n = meets.shape[1]
    if n < 2:
        return None
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n, size=(BOOTSTRAP, n))
    k = meets[:, idx].sum(axis=2)  # levels x resamples
    if conservative:
        lower = np.array([wilson_interval(kk, n)[0] for kk in range(n + 1)])
        ok = lower[k] >= probability
    else:
        ok = k / n >= probability - 1e-12
    first = np.where(ok.any(axis=0), np.argmax(ok, axis=0), -1)
    answers = np.where(first >= 0, np.asarray(xs, float)[np.maximum(first, 0)], np.inf)
    return (float(np.quantile(answers, 0.05, method="inverted_cdf")),
            float(np.quantile(answers, 0.95, method="inverted_cdf")))


# ---------------------------------------------------------------------------- the model
def _one_run(scenario: Any, city: str | None, outcome: str) -> dict[str, float]:
    """Run one scenario; its run-level outcomes (of ``city`` or the system)."""
    from sim.runner import simulate

    t0 = time.perf_counter()
    result = simulate(scenario)
    if city is None:
        frame = result.totals
    else:
        frame = result.municipalities[result.municipalities["municipality"] == city]
    out = weekly_outcomes(frame)
    if is_custom(outcome):
        try:
            out[outcome] = custom_outcome(frame, outcome)
        except KeyError:
            out[outcome] = math.nan
            out["__missing_column"] = 1.0
    out["wall_s"] = time.perf_counter() - t0
    return out


@dataclass
class PlanResult:
    scenario: str
    lever: str
    city: str | None
    target: Target
    lo: float
    hi: float
    probability: float
    conservative: bool
    seeds: list[int]
    search: Search
    runs: pd.DataFrame  # one row per run: level, replicate, seed, value, meets, outcomes
    wall_s: float
    jobs: int
    current: float  # the lever's value in the scenario

    @property
    def answer(self) -> float | None:
        return self.search.answer


def plan(scenario: Path | str, lever: str, target: str, lo: float, hi: float,
         probability: float = 0.8, replicates: int = 10, city: str | None = None,
         sets: Sequence[str] = (), seed: int | None = None, grid: int = 5,
         tol: float | None = None, jobs: int | None = None, conservative: bool = False,
         log: Callable[[str], None] | None = None) -> PlanResult:
    """Answer the planner's question by running the model (see the module docstring)."""
    from sim.scenario import ScenarioError, load_scenario

    say = log or (lambda msg: None)
    if not 0 < probability <= 1:
        raise PlanError(f"--probability {probability:g}: expected a share in (0, 1]")
    if replicates < 1:
        raise PlanError(f"--replicates {replicates}: expected at least 1")
    if grid < 2:
        raise PlanError(f"--grid {grid}: expected at least 2 levels")
    if tol is not None and not tol > 0:
        raise PlanError(f"--tol {tol:g}: expected a positive number")
    tgt = parse_target(target, city)
    path = Path(scenario)
    try:
        base = load_scenario(path, list(sets))
    except ScenarioError as e:
        raise PlanError(f"{e.path}: {e.problems[0]}" + (
            f" (and {len(e.problems) - 1} more problems)" if len(e.problems) > 1 else "")
        ) from None
    data = base.model_dump(mode="python")
    current = lever_value(data, lever)
    integer = isinstance(current, int)
    if integer and not (float(lo).is_integer() and float(hi).is_integer()):
        raise PlanError(f"--range {lo:g}:{hi:g}: {lever} is a whole number; give whole-number "
                        "ends")
    if city is not None:
        names = [m["name"] for m in data.get("municipalities", [])]
        if city not in names:
            import difflib

            close = difflib.get_close_matches(city, names, n=1)
            hint = f"; did you mean {close[0]}?" if close else ""
            raise PlanError(f"--city {city!r}: not a municipality of {path.name}{hint} "
                            f"(known: {', '.join(names)})")
    first = base.run.seed if seed is None else seed
    seeds = [int(first) + r for r in range(replicates)]
    jobs = min(replicates, os.cpu_count() or 1) if jobs is None else max(1, jobs)

    def scenario_at(level: float) -> Any:
        text = str(int(level)) if integer else repr(float(level))
        try:
            return load_scenario(path, [*sets, f"{lever}={text}"])
        except ScenarioError as e:
            raise PlanError(f"--range: {lever} = {level:g} is not allowed: "
                            f"{e.problems[0]}") from None

    for end in (lo, hi):
        scenario_at(end)  # both ends must be valid values of the lever

    from sim.runner import process_pool

    rows: list[dict] = []
    t0 = time.perf_counter()
    with process_pool(jobs) as pool:
        def evaluate(levels: list[float]) -> list[np.ndarray]:
            tasks = []
            for level in levels:
                sc = scenario_at(level)
                for r, s in enumerate(seeds):
                    run_sc = sc.model_copy(deep=True)
                    run_sc.run.seed = s
                    run_sc.run.progress = False
                    tasks.append((level, r, s, run_sc))
            if pool is None:
                results = [_one_run(sc, city, tgt.outcome) for *_, sc in tasks]
            else:
                futs = [pool.submit(_one_run, sc, city, tgt.outcome) for *_, sc in tasks]
                results = [f.result() for f in futs]
            if any(res.get("__missing_column") for res in results):
                raise PlanError(f"--target {tgt.text!r}: the weekly output has no column "
                                f"{custom_column(tgt.outcome)!r}")
            out: dict[float, list[float]] = {lv: [] for lv in levels}
            for (level, r, s, _), res in zip(tasks, results, strict=True):
                value = res[tgt.outcome]
                out[level].append(value)
                rows.append({"level": level, "replicate": r, "seed": s, "value": value,
                             "meets": bool(tgt.meets([value])[0]),
                             **{k: v for k, v in res.items() if not k.startswith("__")}})
            return [np.asarray(out[lv]) for lv in levels]

        say(f"planning: {tgt.describe(city)}; {replicates} replicates per level, {jobs} "
            f"process{'es' if jobs > 1 else ''}")
        search = find_level(evaluate, tgt, lo, hi, probability, grid=grid, tol=tol,
                            integer=integer, conservative=conservative, seed=first, log=say)
    return PlanResult(str(path), lever, city, tgt, lo, hi, probability, conservative, seeds,
                      search, pd.DataFrame(rows), time.perf_counter() - t0, jobs, current)


# ---------------------------------------------------------------------------- output
def _pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def report(res: PlanResult) -> str:
    """The answer, its uncertainty and the runs it used, as text."""
    s = res.search
    tgt = res.target
    rule = ("the lower end of the 95% Wilson interval of the share" if res.conservative
            else "the share")
    lines = [
        f"Target:  {tgt.describe(res.city)}",
        f"         met in at least {_pct(res.probability)} of replicates ({rule} of "
        f"replicates meeting it >= {res.probability:g})",
        f"Lever:   {res.lever} in [{res.lo:g}, {res.hi:g}] (scenario value {res.current:g}); "
        f"{len(res.seeds)} replicates per level, seeds {res.seeds[0]}..{res.seeds[-1]} at "
        "every level (common random numbers)",
    ]
    table = s.table()
    if s.answer is None:
        best = table.sort_values(["share", "level"], ascending=[False, True]).iloc[0]
        lines.append(f"Answer:  no level in [{res.lo:g}, {res.hi:g}] meets the target; the best "
                     f"level tried, {best['level']:.6g}, meets it in {int(best['meeting'])} of "
                     f"{int(best['runs'])} replicates ({_pct(best['share'])}, 95% Wilson "
                     f"{_pct(best['share_low'])}-{_pct(best['share_high'])})")
    else:
        lv = s.at(s.answer)
        assert lv is not None
        lo, hi = lv.interval()
        iv = t_interval(lv.values)
        lines.append(f"Answer:  {res.lever} = {s.answer:.6g}")
        lines.append(f"         at {s.answer:.6g}: {lv.k} of {lv.n} replicates meet the target "
                     f"({_pct(lv.share)}, 95% Wilson interval {_pct(lo)}-{_pct(hi)}); "
                     f"{tgt.outcome} = {iv.estimate:.4g}"
                     + (f" [95% CI {iv.low:.4g}, {iv.high:.4g}]" if np.isfinite(iv.low) else ""))
        if s.below is None:
            lines.append(f"         the lower end of the range already meets it (the answer "
                         f"may lie below {res.lo:g})")
        else:
            b = s.at(s.below)
            assert b is not None
            blo, bhi = b.interval()
            lines.append(f"         at {s.below:.6g} (the largest level tried below it): {b.k} "
                         f"of {b.n} ({_pct(b.share)}, {_pct(blo)}-{_pct(bhi)}): the answer lies "
                         f"in ({s.below:.6g}, {s.answer:.6g}]")
        if s.boot is not None:
            blo, bhi = s.boot
            shown = f"{bhi:.6g}" if np.isfinite(bhi) else f"above {res.hi:g}"
            lines.append(f"         resampling the replicates ({BOOTSTRAP} bootstrap samples), "
                         f"90% of answers lie in [{blo:.6g}, {shown}] (among levels tried)")
    for w in s.warnings:
        lines.append(f"Warning: {w}")
    lines.append(f"Runs:    {len(res.runs)} ({len(table)} levels x {len(res.seeds)} replicates) "
                 f"in {res.wall_s:.1f} s on {res.jobs} process{'es' if res.jobs > 1 else ''}")
    shown = table.assign(
        share=table["share"].map(_pct),
        wilson=[f"{_pct(a)}-{_pct(b)}" for a, b in zip(table["share_low"], table["share_high"],
                                                         strict=True)],
        mean=[f"{m:.4g}" for m in table["mean"]],
        ci=[f"[{a:.4g}, {b:.4g}]" if np.isfinite(a) else "-" for a, b in
            zip(table["ci_low"], table["ci_high"], strict=True)],
        level=[f"{x:.6g}" for x in table["level"]])
    shown = shown[["level", "phase", "meeting", "runs", "share", "wilson", "mean", "ci"]]
    shown = shown.rename(columns={"mean": tgt.outcome + " mean", "ci": "95% CI"})
    lines.append("")
    lines.append(shown.to_string(index=False))
    return "\n".join(lines)


def figure(res: PlanResult):  # noqa: ANN201 - a matplotlib Figure
    """The dose-response curve of the plan with the target and the answer marked."""
    from analysis.plots import dose_response

    table = res.search.table()
    return dose_response(table, res.lever, res.target.outcome, threshold=res.target.threshold,
                         answer=res.answer, probability=res.probability)
