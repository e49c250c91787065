"""The many-lever planner on the model: the question checked, the search run on a process pool,
the plan confirmed on fresh seeds, and the answer as text, tables and a figure.

The method is in ``analysis.optimise``; this module connects it to the model
(``analysis.evaluate.Evaluator``) and to the person asking.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis.evaluate import Evaluator
from analysis.optimise import Confirmation, Lever, Search, confirm, parse_cost, parse_lever, search
from analysis.targets import PlanError, Target, check_confidence, parse_target

CONFIRM = 50  # fresh seeds for the accepted plan


@dataclass
class ManyPlan:
    scenario: str
    city: str | None
    search: Search
    seeds: list[int]
    confirmation: Confirmation | None
    recheck: Confirmation | None  # the plan again on seeds after the confirmation's
    current: dict[str, Any]  # each lever's value in the scenario
    runs: int
    wall_s: float
    jobs: int

    @property
    def plan(self):  # noqa: ANN201 - a Candidate or None
        return self.search.best()


def plan_many(scenario: Path | str, levers: Sequence[str], targets: Sequence[str],
              cost: str = "spend_total", probability: float = 0.8, replicates: int = 10,
              city: str | None = None, sets: Sequence[str] = (), seed: int | None = None,
              trials: int = 40, confirm_seeds: int = CONFIRM, recheck_seeds: int = 0,
              jobs: int | None = None,
              executor: Executor | None = None,
              log: Callable[[str], None] | None = None) -> ManyPlan:
    """The cheapest lever mix meeting every target (see ``analysis.optimise``)."""
    say = log or (lambda msg: None)
    check_confidence(probability, replicates)
    if trials < 1:
        raise PlanError(f"--trials {trials}: expected at least 1")
    if confirm_seeds < 0:
        raise PlanError(f"--confirm {confirm_seeds}: expected 0 or more")
    if recheck_seeds < 0 or (recheck_seeds and not confirm_seeds):
        raise PlanError(f"--recheck {recheck_seeds}: expected 0 or more, and a confirmation "
                        "(--confirm N > 0) whose statements it re-checks")
    tgts: list[Target] = [parse_target(t, city) for t in targets]
    terms = parse_cost(cost)
    ev = Evaluator(scenario, sets, city, tgts)
    parsed: list[Lever] = []
    for text in levers:
        path = text.split("=", 1)[0].strip()
        parsed.append(parse_lever(text, ev.current(path, allow_bool=True)))
    paths = [lv.path for lv in parsed]
    if len(set(paths)) != len(paths):
        raise PlanError(f"--lever: {paths} names a parameter twice")
    for lv in parsed:  # both ends of every lever must be allowed
        for i in (0, lv.size - 1):
            ev.scenario_at({lv.path: lv.value(i)})
    first = ev.seed if seed is None else seed
    seeds = [int(first) + r for r in range(replicates)]
    fresh = [int(first) + replicates + r for r in range(confirm_seeds)]
    again = [int(first) + replicates + confirm_seeds + r for r in range(recheck_seeds)]
    jobs = (os.cpu_count() or 1) if jobs is None else max(1, jobs)
    t0 = time.perf_counter()
    with ev.executing(jobs, executor):
        say(f"planning: {len(parsed)} levers, {len(tgts)} targets, cost {cost}; "
            f"{replicates} replicates per candidate (seeds {seeds[0]}..{seeds[-1]}), "
            f"up to {trials} candidates from optuna")
        found = search(lambda cands: ev.run(cands, seeds), parsed, tgts, terms, probability,
                       trials=trials, batch=max(2, min(jobs, 8)), seed=first, log=say)
        best = found.best()

        def on(fresh_seeds: list[int], what: str) -> Confirmation:
            say(f"{what} on {len(fresh_seeds)} fresh seeds "
                f"({fresh_seeds[0]}..{fresh_seeds[-1]})")
            return confirm(lambda values: ev.run([values], fresh_seeds)[0], best, tgts, terms,
                           fresh_seeds)

        checked = on(fresh, "confirming the plan") if best is not None and fresh else None
        rechecked = (on(again, "re-checking the confirmation (more seeds)")
                     if checked is not None and again else None)
    current = {lv.path: ev.current(lv.path, allow_bool=True) for lv in parsed}
    return ManyPlan(str(ev.path), city, found, seeds, checked, rechecked, current, ev.runs,
                    time.perf_counter() - t0, jobs)


# ---------------------------------------------------------------------------- output
def _pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def _v(v: Any) -> str:
    if isinstance(v, bool | np.bool_):
        return "true" if v else "false"
    if isinstance(v, int | np.integer):
        return f"{int(v):,}"
    return f"{float(v):.4g}"


def _money(x: float) -> str:
    if not math.isfinite(x):
        return "-"
    return f"{x / 1e6:,.2f}M" if abs(x) >= 1e5 else f"{x:,.0f}"


def report(res: ManyPlan) -> str:
    s = res.search
    lines = ["Targets: " + "; ".join(t.describe(res.city) for t in s.targets),
             f"         each met in at least {_pct(s.probability)} of replicates",
             f"Cost:    {' + '.join(s.cost)} over the run (mean over replicates), minimised",
             "Levers:  " + "; ".join(f"{lv.describe()} (scenario {_v(res.current[lv.path])})"
                                     for lv in s.levers),
             f"Search:  optuna TPE with the targets as constraints, then a local search on the "
             f"grid; {len(s.candidates)} candidates x {len(res.seeds)} replicates, seeds "
             f"{res.seeds[0]}..{res.seeds[-1]} for every candidate (common random numbers)"]
    best = s.best()
    if best is None:
        lines.append("Plan:    no candidate tried meets every target; the Pareto front below "
                     "shows how close the candidates came (widen the lever ranges, or ask for "
                     "a lower probability)")
    else:
        lines.append("Plan:    " + ", ".join(f"{k} = {_v(v)}" for k, v in best.values.items()))
        lines.append(f"         on the search seeds: cost {_money(best.cost_mean)}; shares "
                     + ", ".join(f"{t.text} {_pct(sh)}"
                                 for t, sh in zip(s.targets, best.shares, strict=True)))
        c = res.confirmation
        if c is not None:
            lines.append(f"Confirmed on {len(c.seeds)} fresh seeds ({c.seeds[0]}..{c.seeds[-1]}"
                         ", never used in the search):")
            for j, t in enumerate(s.targets):
                k, n, lo, hi = c.target_interval(j)
                flag = "" if hi >= s.probability else "  <- below the probability asked for"
                lines.append(f"         P({t.text}) = {k}/{n} = {_pct(k / n)} (95% Wilson "
                             f"{_pct(lo)}-{_pct(hi)}){flag}")
            k, n, lo, hi = c.all_interval()
            lines.append(f"         P(every target) = {k}/{n} = {_pct(k / n)} (95% Wilson "
                         f"{_pct(lo)}-{_pct(hi)})")
            m, lo, hi = c.cost_interval()
            lines.append(f"         cost {_money(m)} (95% CI {_money(lo)} to {_money(hi)})")
        if c is not None and res.recheck is not None:
            lines += _recheck_lines(c, res.recheck, s)
    lines.append(f"Runs:    {res.runs} in {res.wall_s:.1f} s on {res.jobs} "
                 f"process{'es' if res.jobs > 1 else ''}")
    lines += ["", "Pareto front (no candidate is cheaper and at least as good on every target):",
              _shown(s, s.pareto()).to_string(index=False)]
    return "\n".join(lines)


def recheck_rows(stated: Confirmation, again: Confirmation, s: Search) -> list[dict[str, Any]]:
    """Per target and for every target: the confirmation's share and Wilson interval, the share
    on the re-check's seeds and its interval, and where that share lies against the stated
    interval: ``side`` -1 below it (the plan does worse than promised), 0 inside, +1 above
    (better than promised: the statement was cautious, not wrong)."""
    rows = []
    for j, name in [*enumerate(t.text for t in s.targets), (None, "every target")]:
        k, n, lo, hi = stated.all_interval() if j is None else stated.target_interval(j)
        k2, n2, lo2, hi2 = again.all_interval() if j is None else again.target_interval(j)
        rows.append({"target": name, "stated_k": k, "stated_n": n, "stated_low": lo,
                     "stated_high": hi, "k": k2, "n": n2, "low": lo2, "high": hi2,
                     "side": -1 if k2 / n2 < lo - 1e-12 else (1 if k2 / n2 > hi + 1e-12 else 0)})
    return rows


def _recheck_lines(stated: Confirmation, again: Confirmation, s: Search) -> list[str]:
    lines = [f"Re-checked on {len(again.seeds)} more fresh seeds ({again.seeds[0]}.."
             f"{again.seeds[-1]}, used neither in the search nor in the confirmation):"]
    for r in recheck_rows(stated, again, s):
        verdict = {-1: "BELOW", 0: "inside", 1: "above"}[r["side"]]
        lines.append(f"         P({r['target']}) = {r['k']}/{r['n']} = {_pct(r['k'] / r['n'])} "
                     f"(95% Wilson {_pct(r['low'])}-{_pct(r['high'])}): {verdict} the stated "
                     f"{_pct(r['stated_low'])}-{_pct(r['stated_high'])}")
    return lines


def _shown(s: Search, rows: Sequence) -> pd.DataFrame:
    table = s.table(rows)
    out = pd.DataFrame({k.split(".")[-1] if sum(p.endswith(k.split(".")[-1]) for p in
                                                 [lv.path for lv in s.levers]) == 1 else k:
                        table[k].map(_v) for k in [lv.path for lv in s.levers]})
    out["cost"] = table["cost"].map(_money)
    for t in s.targets:
        out[t.outcome] = table[f"{t.outcome} mean"].map(lambda x: f"{x:.4g}")
        out[f"P({t.text})"] = table[f"{t.text} share"].map(_pct)
    out["meets all"] = table["feasible"].map(lambda b: "yes" if b else "no")
    out["plan"] = table["plan"].map(lambda b: "<-" if b else "")
    return out


def figure(res: ManyPlan):  # noqa: ANN201 - a matplotlib Figure
    """Cost against each target's mean outcome: every candidate, the two-way Pareto front of
    cost and that outcome, the plan (search seeds) and the plan on fresh seeds."""
    from matplotlib.figure import Figure

    from analysis.compare import pareto_front

    s = res.search
    n = len(s.targets)
    fig = Figure(figsize=(5.2 * n, 4.2), layout="constrained")
    axes = fig.subplots(1, n, squeeze=False)[0]
    best = s.best()
    for ax, t, j in zip(axes, s.targets, range(n), strict=True):
        cost = np.array([c.cost_mean for c in s.candidates]) / 1e6
        value = np.array([float(np.mean(c.target_values[j])) for c in s.candidates])
        ok = np.array([c.feasible(s.probability) for c in s.candidates])
        on = pareto_front(cost, value, higher_is_better=t.op in (">", ">="))
        ax.scatter(cost[~ok], value[~ok], s=18, color="#bbbbbb", label="fails a target")
        ax.scatter(cost[ok], value[ok], s=22, color="#1f77b4", label="meets every target")
        order = np.argsort(cost[on])
        ax.step(cost[on][order], value[on][order], where="post", color="#2ca02c", lw=1.2,
                label="Pareto front (cost, this outcome)")
        ax.axhline(t.threshold, color="#d62728", ls=":", lw=1, label=f"target {t.text}")
        if best is not None:
            ax.scatter([best.cost_mean / 1e6], [float(np.mean(best.target_values[j]))], marker="*",
                       s=220, color="#ff7f0e", edgecolor="black", zorder=5,
                       label="plan (search seeds)")
            c = res.confirmation
            if c is not None:
                ci = [x / 1e6 for x in c.cost_interval()]
                v = c.candidate.target_values[j]
                ax.errorbar([ci[0]], [float(np.mean(v))], xerr=[[ci[0] - ci[1]], [ci[2] - ci[0]]],
                            fmt="s", color="black", ms=5, capsize=3, zorder=6,
                            label=f"plan on {len(c.seeds)} fresh seeds (cost 95% CI)")
        ax.set_xlabel(f"cost: {' + '.join(s.cost)} (CAD millions, mean over replicates)")
        ax.set_ylabel(f"{t.outcome} (mean over replicates)")
        ax.set_title(t.describe(res.city).split(" (")[0], fontsize=9)
    axes[0].legend(fontsize=7, frameon=False)
    return fig
