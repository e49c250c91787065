"""The many-lever planner: the cheapest mix of levers that meets several targets with a stated
probability (``reception plan --lever PATH=LOW:HIGH[:STEP] ... --target ... --cost ...``).

A lever is any scenario parameter path (a number, a whole number or a true/false policy
switch), searched on a grid (LOW, LOW+STEP, ..., HIGH; a switch: false, true), so the model
core can grow new levers without this module changing. The cost is a run-level outcome or a
sum of them (``spend_total``, ``spend_federal+spend_municipal``), averaged over replicates.

Method (docs/planning.md):

* Common random numbers: every candidate runs with the same R replicate seeds, so two
  candidates differ by their levers, not by the draws, and a candidate evaluated twice gives
  the same numbers (it is evaluated once and cached).
* A candidate is *feasible* when, for every target, the share of replicates meeting it is at
  least the probability.
* Search: optuna's TPE sampler (seeded, with the targets as constraints) proposes candidates
  in batches run in parallel, then a local search on the grid (one lever a step either way,
  or two levers a step in opposite directions) from the cheapest feasible candidate until no
  neighbour is feasible and cheaper. Optuna because it is maintained, handles whole-number,
  real and categorical (switch) levers in one space, constraints, ask-and-tell batches for a
  process pool, and is reproducible from a seed; pymoo's evolutionary algorithms need far
  more evaluations than a stochastic simulation affords, and scipy's optimisers assume
  smooth, continuous objectives.
* Confirmation: the accepted plan is run again on fresh seeds (never used in the search);
  the probability of meeting each target (and all of them) is reported with its 95% Wilson
  interval, and the cost with its 95% t-interval. The search's shares are optimistic (the
  cheapest feasible candidate is partly chosen for lucky seeds); the fresh seeds are not.
* The Pareto front: the candidates that no other candidate beats on cost and on every
  target's mean outcome at once.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from analysis.compare import t_interval, wilson_interval
from analysis.outcomes import EXTRA, HEADLINE
from analysis.targets import PlanError, Target

GRID_STEPS = 20  # default lever step: a twentieth of the range
Outcomes = list[dict[str, float]]  # one dict of run-level outcomes per replicate


@dataclass(frozen=True)
class Lever:
    """A parameter searched on a grid of values."""

    path: str
    kind: str  # "float", "int" or "bool"
    low: float = 0.0
    high: float = 1.0
    step: float = 1.0

    @property
    def size(self) -> int:
        if self.kind == "bool":
            return 2
        return int(math.floor((self.high - self.low) / self.step + 1e-9)) + 1

    def value(self, i: int) -> Any:
        if self.kind == "bool":
            return bool(i)
        v = min(self.low + i * self.step, self.high)
        return int(round(v)) if self.kind == "int" else float(round(v, 12))

    def describe(self) -> str:
        if self.kind == "bool":
            return f"{self.path} in {{false, true}}"
        return f"{self.path} in [{self.low:g}, {self.high:g}] step {self.step:g}"


_LEVER_RE = re.compile(r"^\s*(?P<path>[^=]+?)\s*(=\s*(?P<range>.*))?$")


def parse_lever(text: str, current: Any) -> Lever:
    """``PATH=LOW:HIGH[:STEP]`` (a number) or ``PATH`` (a true/false switch) -> Lever.

    ``current`` is the parameter's value in the scenario: it says whether the lever is a
    switch, a whole number or a real number."""
    m = _LEVER_RE.match(text or "")
    path, rng = (m.group("path"), m.group("range")) if m else (text, None)
    if isinstance(current, bool):
        if rng:
            raise PlanError(f"--lever {text!r}: {path} is a switch (true or false): give the "
                            "path alone, without a range")
        return Lever(path, "bool")
    if not rng:
        raise PlanError(f"--lever {text!r}: expected PATH=LOW:HIGH or PATH=LOW:HIGH:STEP for a "
                        f"numeric parameter (now {current!r}), e.g. "
                        "funding.grant_factor.federal=0.5:3:0.25")
    parts = rng.split(":")
    try:
        if len(parts) not in (2, 3):
            raise ValueError
        lo, hi = float(parts[0]), float(parts[1])
        step = float(parts[2]) if len(parts) == 3 else (hi - lo) / GRID_STEPS
    except ValueError:
        raise PlanError(f"--lever {text!r}: expected LOW:HIGH or LOW:HIGH:STEP after the "
                        "=") from None
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise PlanError(f"--lever {text!r}: LOW must be below HIGH, both finite numbers")
    whole = isinstance(current, int)
    if whole:
        if not (lo.is_integer() and hi.is_integer()):
            raise PlanError(f"--lever {text!r}: {path} is a whole number; give whole-number "
                            "ends")
        step = max(1.0, float(round(step)))
    if not (math.isfinite(step) and step > 0):
        raise PlanError(f"--lever {text!r}: STEP must be a positive number")
    return Lever(path, "int" if whole else "float", lo, hi, step)


def parse_cost(text: str) -> list[str]:
    """``spend_total`` or ``spend_federal+spend_municipal`` -> the outcomes summed."""
    terms = [t.strip() for t in (text or "").split("+")]
    known = [*HEADLINE, *EXTRA]
    bad = [t for t in terms if t not in known]
    if not terms or bad:
        import difflib

        close = difflib.get_close_matches(bad[0] if bad else "", known, n=1)
        hint = f"; did you mean {close[0]}?" if close else ""
        raise PlanError(f"--cost {text!r}: {bad[0] if bad else 'empty'!r} is not a run-level "
                        f"outcome{hint} (e.g. spend_total, or spend_federal+spend_municipal)")
    return terms


# ---------------------------------------------------------------------------- candidates
@dataclass
class Candidate:
    index: tuple[int, ...]  # grid position of each lever
    values: dict[str, Any]  # lever path -> value
    outcomes: Outcomes
    cost: np.ndarray  # per replicate
    target_values: list[np.ndarray]  # per target, per replicate
    meets: list[np.ndarray]  # per target, bool per replicate
    order: int
    phase: str  # "optuna" or "local"

    @property
    def cost_mean(self) -> float:
        return float(np.mean(self.cost)) if len(self.cost) else math.nan

    @property
    def shares(self) -> list[float]:
        return [float(m.mean()) for m in self.meets]

    def feasible(self, probability: float) -> bool:
        return all(s >= probability - 1e-12 for s in self.shares)


def _measure(index: tuple[int, ...], values: dict[str, Any], outcomes: Outcomes,
             targets: Sequence[Target], cost: Sequence[str], order: int, phase: str
             ) -> Candidate:
    costs = np.array([sum(o[c] for c in cost) for o in outcomes], float)
    tv = [np.array([o[t.outcome] for o in outcomes], float) for t in targets]
    return Candidate(index, values, outcomes, costs, tv,
                     [t.meets(v) for t, v in zip(targets, tv, strict=True)], order, phase)


@dataclass
class Search:
    levers: list[Lever]
    targets: list[Target]
    cost: list[str]
    probability: float
    candidates: list[Candidate] = field(default_factory=list)

    def feasible(self) -> list[Candidate]:
        return [c for c in self.candidates if c.feasible(self.probability)]

    def best(self) -> Candidate | None:
        ok = self.feasible()
        return min(ok, key=lambda c: (c.cost_mean, c.index)) if ok else None

    def pareto(self) -> list[Candidate]:
        """Candidates no other beats on cost and on every target's mean outcome."""
        def score(c: Candidate) -> np.ndarray:
            signs = [1.0 if t.op in ("<", "<=") else -1.0 for t in self.targets]
            return np.array([c.cost_mean, *(s * float(np.mean(v)) for s, v in
                                            zip(signs, c.target_values, strict=True))])
        scores = [score(c) for c in self.candidates]
        front = []
        for i, si in enumerate(scores):
            if not np.all(np.isfinite(si)):
                continue
            dominated = any(np.all(sj <= si) and np.any(sj < si)
                            for j, sj in enumerate(scores) if j != i and np.all(np.isfinite(sj)))
            if not dominated:
                front.append(self.candidates[i])
        return sorted(front, key=lambda c: c.cost_mean)

    def table(self, rows: Sequence[Candidate] | None = None) -> pd.DataFrame:
        """One row per candidate: lever values, cost, each target's share and mean."""
        out = []
        best = self.best()
        for c in rows if rows is not None else self.candidates:
            row: dict[str, Any] = {"order": c.order, "phase": c.phase, **c.values,
                                   "cost": c.cost_mean}
            for t, v, s in zip(self.targets, c.target_values, c.shares, strict=True):
                row[f"{t.text} share"] = s
                row[f"{t.outcome} mean"] = float(np.mean(v))
            row["feasible"] = c.feasible(self.probability)
            row["plan"] = c is best
            out.append(row)
        return pd.DataFrame(out)


Evaluate = Callable[[list[dict[str, Any]]], list[Outcomes]]


def search(evaluate: Evaluate, levers: Sequence[Lever], targets: Sequence[Target],
           cost: Sequence[str], probability: float, trials: int = 40, batch: int = 4,
           seed: int = 0, log: Callable[[str], None] | None = None) -> Search:
    """The cheapest feasible candidate: optuna's TPE over the lever grid, then a local search.

    ``evaluate(list of lever values)`` returns each candidate's outcomes per replicate (the
    same replicate seeds for every candidate). ``trials`` bounds the candidates optuna
    proposes; the local search adds what it needs.
    """
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    say = log or (lambda msg: None)
    result = Search(list(levers), list(targets), list(cost), probability)
    seen: dict[tuple[int, ...], Candidate] = {}

    def run(indices: list[tuple[int, ...]], phase: str) -> None:
        new = list(dict.fromkeys(i for i in indices if i not in seen))
        if not new:
            return
        values = [{lv.path: lv.value(i) for lv, i in zip(levers, idx, strict=True)}
                  for idx in new]
        for idx, vals, outs in zip(new, values, evaluate(values), strict=True):
            c = _measure(idx, vals, outs, targets, cost, len(seen), phase)
            seen[idx] = c
            result.candidates.append(c)
            shown = ", ".join(f"{k.split('.')[-1]}={_fmt(v)}" for k, v in vals.items())
            say(f"  {phase} {c.order:3d}: {shown}: cost {c.cost_mean:,.4g}, shares "
                + "/".join(f"{s:.2f}" for s in c.shares)
                + (" (meets)" if c.feasible(probability) else ""))

    sampler = optuna.samplers.TPESampler(
        seed=seed, multivariate=True, n_startup_trials=max(4, min(10, trials // 4)))
    study = optuna.create_study(direction="minimize", sampler=sampler)
    size = int(np.prod([lv.size for lv in levers]))
    asked = 0
    while len(seen) < min(trials, size) and asked < 4 * trials:
        batch_trials = [study.ask() for _ in range(batch)]
        asked += batch
        idx = [tuple(t.suggest_int(lv.path, 0, lv.size - 1) for lv in levers)
               for t in batch_trials]
        run(idx, "optuna")
        for t, i in zip(batch_trials, idx, strict=True):
            c = seen[i]
            for j, share in enumerate(c.shares):  # feasible: every value <= 0
                t.set_constraint(f"target{j}", probability - share)
            study.tell(t, c.cost_mean)
    _local(result, seen, levers, probability, run)
    return result


def _local(result: Search, seen: dict, levers: Sequence[Lever], probability: float,
           run: Callable[[list[tuple[int, ...]], str], None]) -> None:
    """From the cheapest feasible candidate, move to a cheaper feasible neighbour on the grid
    until there is none (one lever a step either way; two levers a step in opposite
    directions, which follows a boundary between the targets' regions)."""
    while (best := result.best()) is not None:
        moves = []
        n = len(levers)
        for a in range(n):
            for d in (-1, 1):
                moves.append({a: d})
                moves += [{a: d, b: -d} for b in range(n) if b != a]
        near = []
        for mv in moves:
            idx = list(best.index)
            for a, d in mv.items():
                idx[a] += d
            if all(0 <= i < lv.size for i, lv in zip(idx, levers, strict=True)):
                near.append(tuple(idx))
        run(near, "local")
        better = [seen[i] for i in near if seen[i].feasible(probability)
                  and seen[i].cost_mean < best.cost_mean]
        if not better:
            return


# ---------------------------------------------------------------------------- confirmation
@dataclass
class Confirmation:
    seeds: list[int]
    candidate: Candidate  # measured on the fresh seeds

    def target_interval(self, j: int) -> tuple[int, int, float, float]:
        m = self.candidate.meets[j]
        lo, hi = wilson_interval(int(m.sum()), len(m))
        return int(m.sum()), len(m), lo, hi

    def all_interval(self) -> tuple[int, int, float, float]:
        every = np.logical_and.reduce(self.candidate.meets)
        lo, hi = wilson_interval(int(every.sum()), len(every))
        return int(every.sum()), len(every), lo, hi

    def cost_interval(self) -> tuple[float, float, float]:
        iv = t_interval(self.candidate.cost)
        return iv.estimate, iv.low, iv.high


def confirm(evaluate_fresh: Callable[[dict[str, Any]], Outcomes], plan: Candidate,
            targets: Sequence[Target], cost: Sequence[str], seeds: list[int]) -> Confirmation:
    outs = evaluate_fresh(plan.values)
    return Confirmation(seeds, _measure(plan.index, plan.values, outs, targets, cost,
                                        plan.order, "confirm"))


def _fmt(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return f"{v:,}"
    return f"{v:.4g}"
