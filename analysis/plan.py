"""The planner's question: the smallest level of a lever that meets a target with a stated
probability (``reception plan``).

Targets (``mean_wait_language<8``) are parsed by ``analysis.targets``; the many-lever form
(several levers, several targets, a cost) is ``analysis.optimise``.

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
from analysis.evaluate import USE_PREFIX, USE_WEEKS, Evaluator
from analysis.outcomes import SERVICES
from analysis.targets import PlanError, Target, check_confidence, parse_target

BOOTSTRAP = 2000


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
    say = log or (lambda msg: None)
    check_confidence(probability, replicates)
    if grid < 2:
        raise PlanError(f"--grid {grid}: expected at least 2 levels")
    if tol is not None and not tol > 0:
        raise PlanError(f"--tol {tol:g}: expected a positive number")
    tgt = parse_target(target, city)
    ev = Evaluator(scenario, sets, city, [tgt])
    current = ev.current(lever)
    integer = isinstance(current, int)
    if integer and not (float(lo).is_integer() and float(hi).is_integer()):
        raise PlanError(f"--range {lo:g}:{hi:g}: {lever} is a whole number; give whole-number "
                        "ends")
    first = ev.seed if seed is None else seed
    seeds = [int(first) + r for r in range(replicates)]
    jobs = min(replicates, os.cpu_count() or 1) if jobs is None else max(1, jobs)

    def at(level: float) -> dict[str, Any]:
        return {lever: int(level) if integer else float(level)}

    for end in (lo, hi):  # both ends must be valid values of the lever
        try:
            ev.scenario_at(at(end))
        except PlanError as e:
            raise PlanError(f"--range: {e}") from None

    rows: list[dict] = []
    t0 = time.perf_counter()
    with ev.executing(jobs):
        def evaluate(levels: list[float]) -> list[np.ndarray]:
            results = ev.run([at(level) for level in levels], seeds)
            out = []
            for level, per_seed in zip(levels, results, strict=True):
                values = [res[tgt.outcome] for res in per_seed]
                out.append(np.asarray(values, dtype=float))
                for r, (s, res) in enumerate(zip(seeds, per_seed, strict=True)):
                    rows.append({"level": level, "replicate": r, "seed": s,
                                 "value": res[tgt.outcome],
                                 "meets": bool(tgt.meets([res[tgt.outcome]])[0]), **res})
            return out

        say(f"planning: {tgt.describe(city)}; {replicates} replicates per level, {jobs} "
            f"process{'es' if jobs > 1 else ''}")
        search = find_level(evaluate, tgt, lo, hi, probability, grid=grid, tol=tol,
                            integer=integer, conservative=conservative, seed=first, log=say)
    return PlanResult(str(ev.path), lever, city, tgt, lo, hi, probability, conservative, seeds,
                      search, pd.DataFrame(rows), time.perf_counter() - t0, jobs, current)


# ---------------------------------------------------------------------------- output
def _pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def best_level(table: pd.DataFrame, target: Target) -> pd.Series:
    """The level tried closest to meeting the target: the largest share of replicates meeting
    it, then the mean outcome nearest the target's side of the threshold (when no level meets
    it, the shares are often all 0 and only the outcome tells the levels apart)."""
    gap = table["mean"].map(target.shortfall)
    order = table.assign(_gap=gap).sort_values(["share", "_gap", "level"],
                                               ascending=[False, True, True], kind="stable")
    return order.iloc[0]


IDLE_BINDS = 0.05  # share of a service's hours idle while people wait: eligibility binds


def target_service(outcome: str) -> str | None:
    """The service a target is about (``mean_wait_language``, ``end(waiting_language)``)."""
    m = re.search(r"(?:wait|waiting|started|in_service)_(" + "|".join(SERVICES) + r")\b",
                  outcome)
    return m.group(1) if m else None


def why_lines(res: PlanResult) -> list[str]:
    """For a target on a service: how its hours were used at the lowest and highest levels tried
    (last year of the run, mean over replicates), and what binds: eligibility (hours idle while
    people wait: more of the same money cannot reach them) or hours."""
    service = target_service(res.target.outcome)
    cols = [f"{USE_PREFIX}{c}_{service}" for c in
            ("hours_available", "hours_idle_while_waiting", "waiting")]
    if service is None or res.runs.empty or not set(cols) <= set(res.runs.columns):
        return []
    means = res.runs.groupby("level")[cols].mean()
    weeks = min(USE_WEEKS, int(res.runs["weeks"].min())) if "weeks" in res.runs else USE_WEEKS
    lines = []
    for level in dict.fromkeys([means.index.min(), means.index.max()]):
        avail, idle, waiting = (float(means.loc[level, c]) for c in cols)
        if not (np.isfinite(avail) and avail > 0):
            continue
        share = idle / avail
        binds = ("eligibility binds: the people waiting are not ones these hours' funders may "
                 "serve, so more of the same money cannot reach them"
                 if share >= IDLE_BINDS else "hours bind: little sat idle while people waited")
        lines.append(f"{'Why:' if not lines else '':<9}{service} at {res.lever} = {level:.6g} "
                     f"(last {weeks} weeks, mean per week): {_pct(share)} of {avail:,.0f} "
                     f"hours idle while {waiting:,.0f} people waited; {binds}")
    if lines:
        lines.append("         (who waits by status and funder: sim.explain.waiting_by_funder; "
                     "docs/analysis.md, \"What mean_wait measures\")")
    return lines


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
        best = best_level(table, tgt)
        lines.append(f"Answer:  no level in [{res.lo:g}, {res.hi:g}] meets the target; the "
                     f"closest level tried, {best['level']:.6g}, meets it in "
                     f"{int(best['meeting'])} of {int(best['runs'])} replicates "
                     f"({_pct(best['share'])}, 95% Wilson {_pct(best['share_low'])}-"
                     f"{_pct(best['share_high'])}) with {tgt.outcome} = {best['mean']:.4g} on "
                     f"average (target {tgt.op} {tgt.threshold:g})")
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
    lines.extend(why_lines(res))
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
