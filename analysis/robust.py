"""Robustness of plans across plausible futures (``reception robust``).

The futures are the runs of an uncertainty sweep (a Latin hypercube over uncertain inputs,
such as ``experiments/reception_breakdown.toml``): each run's input values and seed. Every plan
(a set of lever values) is run in every future with that future's seed, and so is the status
quo (no lever changed), so plans are compared future by future (paired).

* Satisficing share: the share of futures in which a plan meets every target, with its 95%
  Wilson interval (a robustness measure of the kind Lempert et al. and McPhail et al. 2018
  call satisficing).
* Regret (Savage): in each future, how much worse a plan does than the best of the plans
  compared there, on the cost and on each target's outcome; reported as mean, 90th percentile
  and maximum over futures.
* Paired comparison of two plans: the difference in each outcome, future by future, with a
  95% paired t-interval, and the futures where only one of the two meets the targets.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis.compare import paired_interval, wilson_interval
from analysis.targets import PlanError, Target

STATUS_QUO = "status quo"


def parse_plan(text: str, index: int) -> tuple[str, dict[str, Any]]:
    """``[NAME:] PATH=VALUE, PATH=VALUE`` -> (name, values)."""
    name, sep, rest = text.partition(":")
    if not sep or "=" in name:
        name, rest = f"plan {index}", text
    values: dict[str, Any] = {}
    for item in [i.strip() for i in rest.split(",") if i.strip()]:
        path, eq, raw = item.partition("=")
        if not eq or not path.strip() or not raw.strip():
            raise PlanError(f"--plan {text!r}: expected [NAME:] PATH=VALUE, PATH=VALUE, e.g. "
                            "\"more money: funding.grant_factor.federal=2\"")
        values[path.strip()] = _value(raw.strip(), text)
    if not values:
        raise PlanError(f"--plan {text!r}: no PATH=VALUE given")
    return name.strip(), values


def _value(raw: str, text: str) -> Any:
    if raw.lower() in ("true", "false"):
        return raw.lower() == "true"
    try:
        return int(raw)
    except ValueError:
        pass
    try:
        return float(raw)
    except ValueError:
        raise PlanError(f"--plan {text!r}: {raw!r} is not a number or true/false") from None


@dataclass
class Robustness:
    plans: dict[str, dict[str, Any]]  # name -> lever values (the status quo: none)
    targets: list[Target]
    cost: list[str]
    futures: pd.DataFrame  # one row per future: point, seed, the uncertain inputs
    outcomes: dict[str, pd.DataFrame]  # plan -> one row per future: cost, target outcomes, meets

    def summary(self) -> pd.DataFrame:
        """One row per plan: satisficing share (Wilson), share per target, cost, regrets."""
        names = list(self.plans)
        cost = np.vstack([self.outcomes[p]["cost"].to_numpy() for p in names])
        regret_cost = cost - np.nanmin(cost, axis=0)
        rows = []
        for i, p in enumerate(names):
            o = self.outcomes[p]
            k, n = int(o["meets_all"].sum()), len(o)
            lo, hi = wilson_interval(k, n)
            row = {"plan": p, "futures": n, "meets_all": k, "satisficing": k / n,
                   "satisficing_low": lo, "satisficing_high": hi,
                   "cost_mean": float(o["cost"].mean()),
                   "cost_regret_mean": float(regret_cost[i].mean()),
                   "cost_regret_p90": float(np.quantile(regret_cost[i], 0.9)),
                   "cost_regret_max": float(regret_cost[i].max())}
            for t in self.targets:
                sign = 1.0 if t.op in ("<", "<=") else -1.0
                vals = np.vstack([sign * self.outcomes[q][t.outcome].to_numpy() for q in names])
                regret = vals[i] - np.nanmin(vals, axis=0)
                row[f"P({t.text})"] = float(o[f"meets:{t.text}"].mean())
                row[f"{t.outcome}_mean"] = float(o[t.outcome].mean())
                row[f"{t.outcome}_regret_p90"] = float(np.quantile(regret, 0.9))
                row[f"{t.outcome}_regret_max"] = float(regret.max())
            rows.append(row)
        return pd.DataFrame(rows)

    def paired(self, a: str, b: str) -> pd.DataFrame:
        """``b`` minus ``a``, future by future: mean difference and its 95% paired interval."""
        oa, ob = self.outcomes[a], self.outcomes[b]
        rows = []
        for col in ["cost", *(t.outcome for t in self.targets), "meets_all"]:
            x, y = oa[col].to_numpy(float), ob[col].to_numpy(float)
            iv = paired_interval(x, y)
            rows.append({"measure": col, f"{a} mean": float(np.mean(x)),
                         f"{b} mean": float(np.mean(y)), "difference": iv.estimate,
                         "ci_low": iv.low, "ci_high": iv.high})
        only_a = int((oa["meets_all"] & ~ob["meets_all"]).sum())
        only_b = int((ob["meets_all"] & ~oa["meets_all"]).sum())
        frame = pd.DataFrame(rows)
        frame.attrs.update(only_a=only_a, only_b=only_b)
        return frame


def futures_of(manifest: dict, limit: int | None = None) -> pd.DataFrame:
    """The sweep's finished runs as futures: point, seed and the point's input values."""
    points = {int(p["point"]): p.get("sets") or {} for p in manifest.get("points") or []}
    runs = [r for r in manifest.get("runs") or [] if r.get("status") == "done"]
    if not runs or not points:
        raise PlanError("the sweep has no finished runs listed in its manifest.json to use as "
                        "futures")
    rows = [{"point": int(r["point"]), "replicate": int(r["replicate"]), "seed": int(r["seed"]),
             **points[int(r["point"])]} for r in runs]
    frame = pd.DataFrame(rows)
    return frame.head(limit) if limit else frame


def robustness(results: Path, plans: Sequence[str], targets: Sequence[str],
               cost: str = "spend_total", futures: int | None = None, jobs: int | None = None,
               log: Callable[[str], None] | None = None) -> Robustness:
    """Every plan and the status quo in every future of the sweep at ``results``."""
    from analysis.boxfiles import Source
    from analysis.evaluate import Evaluator
    from analysis.load import open_results
    from analysis.optimise import parse_cost
    from analysis.targets import parse_target

    say = log or (lambda msg: None)
    if futures is not None and futures < 1:
        raise PlanError(f"--futures {futures}: expected at least 1")
    tgts = [parse_target(t) for t in targets]
    terms = parse_cost(cost)
    parsed = dict(parse_plan(p, i + 1) for i, p in enumerate(plans))
    if len(parsed) != len(plans):
        raise PlanError("--plan: two plans have the same name")
    res = open_results(results)
    src = Source(res.manifest)
    table = futures_of(res.manifest, futures)
    ev = Evaluator(src.scenario, [f"{k}={_text(v)}" for k, v in src.sets.items()], None, tgts)
    for values in parsed.values():
        for path in values:
            ev.current(path, allow_bool=True)  # a parameter of the scenario, or PlanError
        ev.scenario_at(values)
    inputs = [c for c in table.columns if c not in ("point", "replicate", "seed")]
    every = {STATUS_QUO: {}, **parsed}
    outcomes = {}
    with ev.executing(jobs):
        for name, values in every.items():
            say(f"{name}: {len(table)} futures")
            # rows as records: iterrows would turn the 63-bit seeds into floats
            pairs = [({**{k: row[k] for k in inputs if _given(row[k])}, **values},
                      int(row["seed"])) for row in table.to_dict("records")]
            runs = ev.run_pairs(pairs)
            frame = pd.DataFrame({"cost": [sum(r[c] for c in terms) for r in runs],
                                  **{t.outcome: [r[t.outcome] for r in runs] for t in tgts}})
            for t in tgts:
                frame[f"meets:{t.text}"] = t.meets(frame[t.outcome])
            frame["meets_all"] = np.logical_and.reduce(
                [frame[f"meets:{t.text}"].to_numpy() for t in tgts])
            outcomes[name] = frame
    return Robustness(every, tgts, terms, table, outcomes)


def _given(v: Any) -> bool:
    return not (isinstance(v, float) and math.isnan(v))


def _text(v: Any) -> str:
    from analysis.evaluate import value_text

    return value_text(v) if isinstance(v, bool | int | float) else str(v)


def report(r: Robustness) -> str:
    s = r.summary()
    lines = [f"Futures: {len(r.futures)} runs of the uncertainty sweep (each with its inputs "
             "and seed; every plan in every future: paired)",
             "Targets: " + "; ".join(t.text for t in r.targets) + f"; cost {' + '.join(r.cost)}",
             "Plans:   " + "; ".join(f"{n}: " + (", ".join(f"{k}={_text(v)}" for k, v in
                                                         vals.items()) or "the scenario as is")
                                     for n, vals in r.plans.items()), ""]
    shown = pd.DataFrame({
        "plan": s["plan"],
        "meets every target": [f"{k}/{n} = {100 * k / n:.0f}% [{100 * lo:.0f}-{100 * hi:.0f}%]"
                               for k, n, lo, hi in zip(s["meets_all"], s["futures"],
                                                       s["satisficing_low"],
                                                       s["satisficing_high"], strict=True)],
        **{f"P({t.text})": s[f"P({t.text})"].map(lambda x: f"{100 * x:.0f}%") for t in r.targets},
        "cost mean": s["cost_mean"].map(lambda x: f"{x / 1e6:,.2f}M"),
        "cost regret p90 / max": [f"{a / 1e6:,.2f}M / {b / 1e6:,.2f}M" for a, b in
                                  zip(s["cost_regret_p90"], s["cost_regret_max"], strict=True)],
        **{f"{t.outcome} regret p90 / max": [f"{a:.4g} / {b:.4g}" for a, b in zip(
            s[f"{t.outcome}_regret_p90"], s[f"{t.outcome}_regret_max"], strict=True)]
           for t in r.targets}})
    lines += ["Satisficing share (95% Wilson), share per target, cost, and regret against the "
              "best plan in each future:", shown.to_string(index=False)]
    names = list(r.plans)
    pairs = [(STATUS_QUO, b) for b in names[1:]]
    if len(names) >= 3:
        pairs.append((names[1], names[2]))
    for a, b in pairs:
        lines += ["", *_paired_lines(r, a, b)]
    return "\n".join(lines)


def _paired_lines(r: Robustness, a: str, b: str) -> list[str]:
    p = r.paired(a, b)
    lines = [f"Paired, {b} minus {a} (future by future, 95% paired t-interval): {b} alone "
             f"meets every target in {p.attrs['only_b']} futures, {a} alone in "
             f"{p.attrs['only_a']}"]
    for _, row in p.iterrows():
        lines.append(f"    {row['measure']:>28}: {row['difference']:+,.4g} "
                     f"[{row['ci_low']:+,.4g}, {row['ci_high']:+,.4g}]")
    return lines
